# Tests of compare.py (standard library only): python3 -m unittest discover -s captures/parity -p 'test_*.py'
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

REFERENCE = '''# HELP A123010101_inner_metrics ...
# TYPE A123010101_inner_metrics histogram
A123010101_inner_metrics_bucket{appid="A123",code="a\\"b\\\\c\\nd",le="100.0"} 1.0
A123010101_inner_metrics_bucket{appid="A123",code="a\\"b\\\\c\\nd",le="200.0"} 2.0
A123010101_inner_metrics_bucket{appid="A123",code="a\\"b\\\\c\\nd",le="+Inf"} 2.0
A123010101_inner_metrics_count{appid="A123",code="a\\"b\\\\c\\nd"} 2.0
A123010101_inner_metrics_sum{appid="A123",code="a\\"b\\\\c\\nd"} 180.5
# HELP A123010101_inner_metrics_created ...
# TYPE A123010101_inner_metrics_created gauge
A123010101_inner_metrics_created{appid="A123",code="a\\"b\\\\c\\nd"} 1.79e+09
# HELP external_calls_total Total number of external calls
# TYPE external_calls_total counter
external_calls_total{tcode="1",status="success"} 3.0
# HELP external_calls_created Total number of external calls
# TYPE external_calls_created gauge
external_calls_created{tcode="1",status="success"} 1.79e+09
# HELP python_info Python platform information
# TYPE python_info gauge
python_info{implementation="CPython"} 1.0
'''

# The same metrics as an OpenMetrics exposition would write them: other label order,
# `le` spelled as integers, counter TYPE without _total, no _created, # EOF.
OPENMETRICS_EQUAL = '''# TYPE A123010101_inner_metrics histogram
A123010101_inner_metrics_bucket{code="a\\"b\\\\c\\nd",appid="A123",le="100"} 1
A123010101_inner_metrics_bucket{code="a\\"b\\\\c\\nd",appid="A123",le="200"} 2
A123010101_inner_metrics_bucket{code="a\\"b\\\\c\\nd",appid="A123",le="+Inf"} 2
A123010101_inner_metrics_count{code="a\\"b\\\\c\\nd",appid="A123"} 2
A123010101_inner_metrics_sum{code="a\\"b\\\\c\\nd",appid="A123"} 181.0
# TYPE external_calls counter
external_calls_total{status="success",tcode="1"} 3
# TYPE channel_exporter_packets_total counter
channel_exporter_packets_total 1234
# EOF
'''


def run(ours, expected, *args):
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "ours.prom"), os.path.join(d, "expected.prom")
        with open(a, "w", encoding="utf-8") as f:
            f.write(ours)
        with open(b, "w", encoding="utf-8") as f:
            f.write(expected)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare.py")
        result = subprocess.run([sys.executable, script, a, b, *args], capture_output=True, text=True)
        return result.returncode, result.stdout


class CompareTests(unittest.TestCase):
    def test_identical_expositions_are_equal(self):
        code, out = run(REFERENCE, REFERENCE)
        self.assertEqual(code, 0, out)
        self.assertIn("2 label sets compared, 0 mismatching", out)

    def test_openmetrics_spelling_and_self_metrics_are_equal(self):
        code, out = run(OPENMETRICS_EQUAL, REFERENCE)
        self.assertEqual(code, 0, out)
        self.assertIn("le spelled '100', reference '100.0'", out)

    def test_an_observation_in_another_bucket_is_a_mismatch(self):
        moved = OPENMETRICS_EQUAL.replace('le="100"} 1', 'le="100"} 0')
        code, out = run(moved, REFERENCE)
        self.assertEqual(code, 1, out)
        self.assertIn("bucket le=100.0: 0 != 1", out)

    def test_a_different_counter_value_is_a_mismatch(self):
        code, out = run(OPENMETRICS_EQUAL.replace("} 3\n", "} 4\n"), REFERENCE)
        self.assertEqual(code, 1, out)
        self.assertIn("value 4.0 != 3.0", out)

    def test_a_label_value_difference_is_a_missing_and_an_extra_label_set(self):
        code, out = run(OPENMETRICS_EQUAL.replace('tcode="1"', 'tcode="2"'), REFERENCE)
        self.assertEqual(code, 1, out)
        self.assertIn("2 mismatching", out.splitlines()[-1])

    def test_a_missing_family_is_a_mismatch(self):
        only_counter = "\n".join(l for l in OPENMETRICS_EQUAL.splitlines() if "inner_metrics" not in l)
        code, out = run(only_counter, REFERENCE)
        self.assertEqual(code, 1, out)
        self.assertIn("(family missing in ours)", out)

    def test_an_extra_non_self_family_with_samples_is_a_mismatch(self):
        extra = OPENMETRICS_EQUAL.replace("# EOF", "# TYPE surprise gauge\nsurprise 1\n# EOF")
        code, out = run(extra, REFERENCE)
        self.assertEqual(code, 1, out)
        code, out = run(extra, REFERENCE, "--ignore", "surprise")
        self.assertEqual(code, 0, out)

    def test_sum_is_compared_only_with_a_tolerance(self):
        self.assertEqual(run(OPENMETRICS_EQUAL, REFERENCE, "--sum-tolerance", "1")[0], 0)
        self.assertEqual(run(OPENMETRICS_EQUAL, REFERENCE, "--sum-tolerance", "0.1")[0], 1)

    def test_escaped_label_values_are_unescaped(self):
        families = compare.parse(REFERENCE)
        (key,) = families["A123010101_inner_metrics"]["series"]
        self.assertEqual(dict(key)["code"], 'a"b\\c\nd')

    def test_only_a_newline_ends_a_line(self):
        # prometheus_client escapes only \\, \" and \n: a label may hold a raw CR, U+2028 or U+0085,
        # which str.splitlines() and a file opened with universal newlines took for line ends.
        text = REFERENCE.replace('code="a\\"b\\\\c\\nd"', 'code="x\ry\u2028z\x85w"')
        self.assertNotEqual(text, REFERENCE)
        (key,) = compare.parse(text)["A123010101_inner_metrics"]["series"]
        self.assertEqual(dict(key)["code"], "x\ry\u2028z\x85w")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.prom")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare.py")
            result = subprocess.run([sys.executable, script, path, path], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_a_broken_file_is_a_usage_error(self):
        self.assertEqual(run("not a metric line at all {", REFERENCE)[0], 2)

    def test_committed_fixtures_parse(self):
        here = os.path.dirname(os.path.abspath(__file__))
        for name in sorted(os.listdir(here)):
            if name.endswith(".expected.prom"):
                with open(os.path.join(here, name), encoding="utf-8", newline="") as f:
                    families = compare.parse(f.read())
                self.assertIn("A123010101_inner_metrics", families, name)
                self.assertIn("external_calls", families, name)


if __name__ == "__main__":
    unittest.main()
