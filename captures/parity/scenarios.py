# The requests the driver sends to the app, per scenario, with what the reference should record.
#
# A step: method, target (path?query as sent), headers (ordered (name, value)
# pairs; values may be bytes), body, new_conn (open a new connection first),
# inner = (f_code, path, http_status, code, method_code) expected in
# A123010101_inner_metrics, or None when the reference records nothing.
# /call/<plan> steps also trigger the outgoing calls of plans.PLANS[plan].
from plans import PLANS
from replies import REPLIES

UA = "parity-driver/1.0"     # 17 characters: kept whole
JSON_TYPE = ("Content-Type", "application/json")
FORM_TYPE = ("Content-Type", "application/x-www-form-urlencoded")


def step(method, target, headers=(), body=b"", new_conn=False, inner=None):
    return dict(method=method, target=target, headers=list(headers), body=body,
                new_conn=new_conn, inner=inner)


def ok(path, code="0", method_code="", f_code=UA, status="200"):
    return (f_code, path, status, code, method_code)


def _reply_steps():
    """One request per canned reply: the `code` label of inner metrics (key `code` only)."""
    inner_code = {
        "code_int0": "0", "code_int7": "7", "code_str0": "0", "code_str0000": "0000",
        "code_true": "True", "code_false": "False", "code_float": "1.5", "code_zero_float": "0.0",
        "code_exp": "100000.0", "code_small_exp": "1e-07", "code_neg_zero": "-0.0",
        "code_bigint": "12345678901234567890",
        "code_object": "{'a': 1, 'b': [1, 'x', None, True, 2.5]}", "code_array": "[1, 'x']",
        "code_repr_quote": "[\"it's\", 'say \"hi\" it\\'s']",
        "code_null": "", "code_missing": "", "errorcode_only": "", "errorcode_fuzzy": "",
        "code_null_errorcode": "", "code_and_errorcode": "3", "top_array": "3",
        "top_array_nocode": "", "top_scalar": "", "top_string": "", "nan": "nan",
        "infinity": "inf", "neg_infinity": "-inf", "nested": "11", "nested_top_wins": "12",
        "nested_last_wins": "2", "nested_null_last": "", "fuzzy_key": "k1",
        "fuzzy_first_in_object": "first", "unicode": "caf\u00e9 \u4e2d", "escape": 'a"b\\c\nd',
        "json_as_text": "9", "json_no_type": "10", "html": "-1", "empty": "-1",
        "whitespace": "-1", "latin1": "-1", "truncated_json": "-1", "gzip_json": "-1",
    }
    assert set(inner_code) == set(REPLIES), set(REPLIES) ^ set(inner_code)
    return [step("GET", "/api/reply/" + name, [("User-Agent", UA), ("X-Reply", name)],
                 new_conn=(i % 10 == 0), inner=ok("/api/reply/" + name, code))
            for i, (name, code) in enumerate(inner_code.items())]


def _mc(n, headers=(), body=b"", method="POST", query="", expect=""):
    path = "/api/mc/%d" % n
    return step(method, path + query, [("User-Agent", UA)] + list(headers), body,
                inner=ok(path, method_code=expect))


INBOUND = (
    [step("GET", "/api/v1/users", [("User-Agent", "curl/8.5.0")], new_conn=True,
          inner=ok("/api/v1/users", f_code="curl/8.5.0"))]
    + _reply_steps()
    + [
        # statuses; 404, /healthcheck and /metrics are not recorded
        step("GET", "/api/status", [("User-Agent", UA), ("X-Status", "201")], inner=ok("/api/status", status="201")),
        step("GET", "/api/status", [("User-Agent", UA), ("X-Status", "400"), ("X-Reply", "code_int7")],
             inner=ok("/api/status", "7", status="400")),
        step("GET", "/api/status", [("User-Agent", UA), ("X-Status", "500"), ("X-Reply", "html")],
             inner=ok("/api/status", "-1", status="500")),
        step("GET", "/api/status", [("User-Agent", UA), ("X-Status", "404")]),
        step("GET", "/nope", [("User-Agent", UA)]),
        step("GET", "/healthcheck", [("User-Agent", UA)]),
        step("GET", "/healthcheck?probe=1", [("User-Agent", UA)]),
        step("GET", "/metrics", [("User-Agent", UA)]),
        step("GET", "/boom", [("User-Agent", UA)], inner=ok("/boom", "-1", status="500")),
        step("GET", "/abort/403", [("User-Agent", UA)], inner=ok("/abort/403", "-1", status="403")),
        step("GET", "/redirect", [("User-Agent", UA)], inner=ok("/redirect", "-1", status="302")),
        step("POST", "/only-get", [("User-Agent", UA), JSON_TYPE], b"{}",
             inner=ok("/only-get", "-1", status="405")),
        step("OPTIONS", "/only-get", [("User-Agent", UA)], inner=ok("/only-get", "-1")),
        step("PUT", "/api/methods", [("User-Agent", UA)], inner=ok("/api/methods")),
        step("DELETE", "/api/methods", [("User-Agent", UA)], inner=ok("/api/methods")),
        step("PATCH", "/api/methods", [("User-Agent", UA)], inner=ok("/api/methods")),
        # f_code: the User-Agent, latin-1, > 20 characters cut to 20 + "...", absent -> None
        step("GET", "/api/ua", [], inner=ok("/api/ua", f_code="None")),
        step("GET", "/api/ua", [("User-Agent", "")], inner=ok("/api/ua", f_code="")),
        step("GET", "/api/ua", [("User-Agent", "A" * 20)], inner=ok("/api/ua", f_code="A" * 20)),
        step("GET", "/api/ua", [("User-Agent", "B" * 21)], inner=ok("/api/ua", f_code="B" * 20 + "...")),
        step("GET", "/api/ua", [("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")],
             inner=ok("/api/ua", f_code="Mozilla/5.0 (X11; Li...")),
        step("GET", "/api/ua", [("user-agent", "lower-name")], inner=ok("/api/ua", f_code="lower-name")),
        step("GET", "/api/ua", [("UserAgent", "fuzzy-name")], inner=ok("/api/ua", f_code="fuzzy-name")),
        step("GET", "/api/ua", [("User-Agent", b"caf\xe9-latin1")], inner=ok("/api/ua", f_code="caf\u00e9-latin1")),
        step("GET", "/api/ua", [("User-Agent", "caf\u00e9".encode("utf-8"))],
             inner=ok("/api/ua", f_code="caf\u00c3\u00a9")),
        step("GET", "/api/ua", [("User-Agent", 'q"uote\\back')], inner=ok("/api/ua", f_code='q"uote\\back')),
        # path: percent-decoded, without the query
        step("GET", "/api/caf%C3%A9", [("User-Agent", UA)], inner=ok("/api/caf\u00e9")),
        step("GET", "/api/a%20b", [("User-Agent", UA)], inner=ok("/api/a b")),
        step("GET", "/api/x%2Fy", [("User-Agent", UA)], inner=ok("/api/x/y")),
        step("GET", "/api/q%3Fmark", [("User-Agent", UA)], inner=ok("/api/q?mark")),
        step("GET", "/api/%22quoted%22", [("User-Agent", UA)], inner=ok('/api/"quoted"')),
        step("GET", "/api/plus+sign", [("User-Agent", UA)], inner=ok("/api/plus+sign")),
        step("GET", "/api/with?query=1&b=%20", [("User-Agent", UA)], inner=ok("/api/with")),
        # method_code: header, then query / form / JSON (whatever the Content-Type); truthy only
        _mc(1, [("Method-Code", "H1")], method="GET", expect="H1"),
        _mc(2, [("METHOD-CODE", "H2")], method="GET", expect="H2"),
        _mc(3, [("MethodCode", "H3")], method="GET", expect="H3"),
        _mc(4, [("Method-Code", "0")], method="GET", expect="0"),
        _mc(5, [("Method-Code", "")], method="GET", query="?method_code=Q5", expect="Q5"),
        _mc(6, [("Method-Code", "H6"), JSON_TYPE], b'{"method_code": "J6"}', expect="H6"),
        _mc(7, method="GET", query="?method_code=Q7", expect="Q7"),
        _mc(8, method="GET", query="?Method-Code=Q8", expect="Q8"),
        _mc(9, method="GET", query="?method%5Fcode=Q9", expect="Q9"),
        _mc(10, method="GET", query="?method_code=a+b%20c", expect="a b c"),
        _mc(11, method="GET", query="?method_code=Q11a&method_code=Q11b", expect="Q11a"),
        _mc(12, method="GET", query="?method_code=", expect=""),
        _mc(13, method="GET", query="?method_code=0", expect="0"),
        _mc(14, [JSON_TYPE], b'{"method_code": "J14"}', query="?x=1", expect=""),
        _mc(15, [FORM_TYPE], b"method_code=F15", expect="F15"),
        _mc(16, [FORM_TYPE], b"x=1&methodCode=F16", expect="F16"),
        _mc(17, [("Content-Type", "multipart/form-data; boundary=XyZ")],
            b'--XyZ\r\nContent-Disposition: form-data; name="method_code"\r\n\r\nF17\r\n--XyZ--\r\n', expect="F17"),
        _mc(18, [JSON_TYPE], b'{"method_code": "J18"}', expect="J18"),
        _mc(19, [JSON_TYPE], b'{"a": {"b": [{"Method-Code": "J19"}]}}', expect="J19"),
        _mc(20, [("Content-Type", "text/plain")], b'{"method_code": "J20"}', expect="J20"),
        _mc(21, [], b'{"method_code": "J21"}', expect="J21"),
        _mc(22, [JSON_TYPE], b'{"method_code": 0}', expect=""),
        _mc(23, [JSON_TYPE], b'{"method_code": false}', expect=""),
        _mc(24, [JSON_TYPE], b'{"method_code": null}', expect=""),
        _mc(25, [JSON_TYPE], b'{"method_code": ""}', expect=""),
        _mc(26, [JSON_TYPE], b'{"method_code": 123}', expect="123"),
        _mc(27, [JSON_TYPE], b'{"method_code": true}', expect="True"),
        _mc(28, [JSON_TYPE], b'{"method_code": 1.5}', expect="1.5"),
        _mc(29, [JSON_TYPE], b'{"method_code": {"a": 1}}', expect="{'a': 1}"),
        _mc(30, [JSON_TYPE], b'[{"method_code": "J30"}]', expect="J30"),
        _mc(31, [JSON_TYPE], b'{"a": {"method_code": "J31"}, "b": {"method_code": null}}', expect=""),
        _mc(32, [("Content-Type", "text/plain")], b"hello", expect=""),
        _mc(33, [FORM_TYPE], b"", expect=""),
        _mc(34, [JSON_TYPE], b'{"method_code": "J34", "x": {"method_code": "J34b"}}', expect="J34"),
        _mc(35, [JSON_TYPE], b'{"x": {"method_code": "J35a"}, "method_code": "J35b"}', expect="J35b"),
        _mc(36, [JSON_TYPE, ("Transfer-Encoding", "chunked")],
            b'8\r\n{"method\r\n10\r\n_code": "J36"}  \r\n0\r\n\r\n', expect="J36"),
        _mc(37, [JSON_TYPE], b'{"method_code": "J37"}', query="?", expect="J37"),       # "?" alone: no args
        _mc(38, [JSON_TYPE], b'{"method_code": "J38"}', query="?flag", expect=""),      # args {"flag": ""}
        _mc(39, [FORM_TYPE], b'{"method_code": "J39"}', expect=""),    # parsed as a form: one odd key
    ]
)


def _call(plan, new_conn=False, pad=True):
    """/call/<plan>: the app pads its handler to 350 ms (mid-bucket) unless pad=False."""
    headers = [("User-Agent", UA)] + ([] if pad else [("X-Delay-Ms", "0")])
    return step("GET", "/call/" + plan, headers, new_conn=new_conn, inner=ok("/call/" + plan))


OUTBOUND = [_call(p, new_conn=(i == 0)) for i, p in enumerate(
    p for p in PLANS if not p.startswith(("timing", "differences", "edges")))]

TIMING_DELAYS = (50, 150, 350, 650, 900, 1250)
TIMING = (
    [step("GET", "/api/t", [("User-Agent", UA), ("X-Delay-Ms", str(d))], new_conn=(i == 0),
          inner=ok("/api/t")) for i, d in enumerate(TIMING_DELAYS)]
    + [step("POST", "/api/t", [("User-Agent", UA), ("X-Delay-Ms", str(d)), JSON_TYPE], b'{"k": 1}',
            new_conn=True, inner=ok("/api/t")) for d in (50, 350, 1250)]
    + [_call("timing_shared", new_conn=True, pad=False), _call("timing_new", pad=False)]
)

# Known differences between the reference and the wire (README.md lists what the wire shows);
# `inner` gives what the REFERENCE records. Our exporter is not expected to match these.
DIFFERENCES = [
    step("HEAD", "/api/head", [("User-Agent", UA)], new_conn=True, inner=ok("/api/head", "0")),
    step("GET", "/api/underscore", [("User-Agent", UA), ("Method_Code", "U1")], inner=ok("/api/underscore")),
    step("GET", "/api/underscore-ua", [("User_Agent", "ua-with-underscore")],
         inner=ok("/api/underscore-ua", f_code="None")),
    step("GET", "/api/bad%FFutf8", [("User-Agent", UA)], inner=ok("/api/bad\ufffdutf8")),
    step("GET", "/api/reply/utf16_json", [("User-Agent", UA), ("X-Reply", "utf16_json")],
         inner=ok("/api/reply/utf16_json", "16")),
    step("GET", "/api/reply/utf8_bom_json", [("User-Agent", UA), ("X-Reply", "utf8_bom_json")],
         inner=ok("/api/reply/utf8_bom_json", "17")),
    _call("differences"),
]

# Session 18's audit: rules read from the reference's code (and the server's and Werkzeug's code
# under it), each one that no other scenario exercised. `inner` is what the reference records.
BOM = b"\xef\xbb\xbf"


def _e(n, target=None, headers=(), body=b"", method="GET", expect="", f_code=UA, ua=True):
    path = "/api/e/%d" % n
    return step(method, target or path, ([("User-Agent", UA)] if ua else []) + list(headers), body,
                inner=ok(path, method_code=expect, f_code=f_code))


def _multipart(parts):
    """A multipart form of `parts` small fields, `method_code` (M) first."""
    fields = [b'--BB\r\nContent-Disposition: form-data; name="method_code"\r\n\r\nM\r\n']
    fields += [b'--BB\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i for i in range(parts - 1)]
    return b"".join(fields) + b"--BB--\r\n"


MULTIPART_BB = ("Content-Type", "multipart/form-data; boundary=BB")
PART_MC = b'--BB\r\nContent-Disposition: form-data; name="method_code"\r\n\r\nM\r\n'
PART_NO_DISPOSITION = b'--BB\r\nContent-Type: text/plain\r\n\r\nx\r\n'
PART_NO_NAME = b'--BB\r\nContent-Disposition: form-data\r\n\r\nx\r\n'
PARTS_END = b"--BB--\r\n"

EDGES = [
    # json.loads(bytes) decodes with errors='surrogatepass': surrogates elsewhere are still JSON.
    step("GET", "/api/reply/surrogate_elsewhere", [("User-Agent", UA), ("X-Reply", "surrogate_elsewhere")],
         new_conn=True, inner=ok("/api/reply/surrogate_elsewhere", "3")),
    step("GET", "/api/reply/cesu_pair_before", [("User-Agent", UA), ("X-Reply", "cesu_pair_before")],
         inner=ok("/api/reply/cesu_pair_before", "4")),
    _e(1, method="POST", headers=[JSON_TYPE], body=b'{"x": "\xed\xa0\x80", "method_code": "S1"}', expect="S1"),
    # Werkzeug's request.path is "/" + PATH_INFO.lstrip("/"), PATH_INFO percent-decoded.
    _e(2, target="//api/e/2"),
    _e(3, target="///api/e/3?method_code=Q3", expect="Q3"),
    _e(4, target="/%2Fapi/e/4"),
    _e(5, target="api/e/5"),
    step("GET", "//healthcheck", [("User-Agent", UA)]),
    step("GET", "/%2Fmetrics", [("User-Agent", UA)]),
    # waitress's urlsplit drops a raw fragment (and a query after it).
    _e(6, target="/api/e/6#frag"),
    _e(7, target="/api/e/7#f?method_code=F7"),
    _e(8, target="/api/e/8?method_code=Q8#f", expect="Q8"),
    # Falsy JSON values give "" (bool([]) is False ...), [0] is truthy.
    _e(9, method="POST", headers=[JSON_TYPE], body=b'{"method_code": []}'),
    _e(10, method="POST", headers=[JSON_TYPE], body=b'{"method_code": {}}'),
    _e(11, method="POST", headers=[JSON_TYPE], body=b'{"method_code": -0}'),
    _e(12, method="POST", headers=[JSON_TYPE], body=b'{"method_code": 0e5}'),
    _e(13, method="POST", headers=[JSON_TYPE], body=b'{"method_code": [0]}', expect="[0]"),
    # The first matching header ends FuzzyGet's search even when empty: then the data, not a
    # later spelling; the first of two spellings wins.
    _e(14, target="/api/e/14?method_code=Q14", headers=[("Method-Code", ""), ("MethodCode", "H14")], expect="Q14"),
    _e(15, headers=[("MethodCode", "H15a"), ("Method-Code", "H15b")], expect="H15a"),
    _e(16, headers=[("Useragent", "first-ua"), ("User-Agent", "second-ua")], f_code="first-ua", ua=False),
    _e(17, headers=[("User-Agent", "")], f_code="", ua=False),
    # The first matching query key, even empty; `?=x` is an argument (the body is not read), `?&` none.
    _e(18, target="/api/e/18?Method-Code=&method_code=Q18"),
    _e(19, target="/api/e/19?=x", method="POST", headers=[JSON_TYPE], body=b'{"method_code": "J19"}'),
    _e(20, target="/api/e/20?&", method="POST", headers=[JSON_TYPE], body=b'{"method_code": "J20"}', expect="J20"),
    # json.loads(bytes) strips a UTF-8 BOM and detects UTF-16.
    _e(21, method="POST", headers=[JSON_TYPE], body=BOM + b'{"method_code": "B21"}', expect="B21"),
    _e(22, method="POST", headers=[JSON_TYPE], body='{"method_code": "U22"}'.encode("utf-16-le"), expect="U22"),
    # Invalid UTF-8 in the decoded path: Werkzeug decodes with errors='replace' (one U+FFFD per
    # maximal invalid subpart).
    *[step("GET", "/api/e/23/" + esc + "x", [("User-Agent", UA)],
           inner=ok("/api/e/23/" + bytes.fromhex(esc.replace("%", "")).decode("utf-8", "replace") + "x"))
      for esc in ("%ED%A0%80", "%F0%9F%98", "%C0%AF", "%F4%90%80%80", "%E2%82", "%80%80", "%F8%88%80%80%80")],
    # An obs-fold line: waitress appends it to the field as it is (its leading blanks kept).
    _e(24, headers=[("User-Agent", "fold-a\r\n   fold-b")], f_code="fold-a   fold-b", ua=False),
    # More than Flask's MAX_FORM_PARTS (1,000) multipart parts: request.form raises inside the
    # before-request hook, the after-request hook then fails: nothing recorded; with a query
    # argument the form is not read: recorded.
    step("POST", "/api/e/25", [("User-Agent", UA), MULTIPART_BB], _multipart(1001)),
    _e(26, target="/api/e/26?q=1", method="POST", headers=[MULTIPART_BB], body=_multipart(1001)),
    # A part without Content-Disposition: werkzeug's ValueError (silenced) empties the whole form: "".
    # A part without a name is the key None: FuzzyGet raises on it when it comes before the match.
    _e(27, method="POST", headers=[MULTIPART_BB], body=PART_MC + PART_NO_DISPOSITION + PARTS_END),
    _e(28, method="POST", headers=[MULTIPART_BB], body=PART_MC + PART_NO_NAME + PARTS_END, expect="M"),
    step("POST", "/api/e/29", [("User-Agent", UA), MULTIPART_BB], PART_NO_NAME + PART_MC + PARTS_END),
    _e(30, method="POST", headers=[MULTIPART_BB, ("Method-Code", "H30")], body=PART_NO_NAME + PART_MC + PARTS_END,
       expect="H30"),
    # POST /metrics: 405, but the path is /metrics: not recorded.
    step("POST", "/metrics", [("User-Agent", UA)]),
    _call("edges"),
]

SCENARIOS = {"inbound": INBOUND, "outbound": OUTBOUND, "timing": TIMING, "differences": DIFFERENCES,
             "edges": EDGES}

# Scenarios whose wire view is known to differ from the reference: check_fixtures.py
# reports their pairing/timing differences as notes, not failures.
DIFFERENCE_SCENARIOS = {"differences"}


def outgoing_calls(scenario):
    """The outgoing calls the app makes for a scenario, in order."""
    calls = []
    for s in SCENARIOS[scenario]:
        if s["target"].startswith("/call/"):
            calls.extend(PLANS[s["target"][len("/call/"):]])
    return calls
