# Canned response bodies shared by the Flask app (inbound) and the partner stand-ins (outgoing).
#
# Each entry: name -> (body bytes, Content-Type); ENCODINGS adds Content-Encoding. The comment gives what the
# reference makes of it: `inner` is the `code` label of <SYSCODE>_inner_metrics
# (key `code` only, not found/null -> ""), `out` is the `code` label of
# partner_http_metrics / external_* (`code`, then `errorcode`, else -1).
import gzip

import random_campaign

JSON = "application/json"

REPLIES = {
    "code_int0":        (b'{"code": 0, "msg": "ok"}', JSON),            # inner 0, out 0 (success)
    "code_int7":        (b'{"code": 7}', JSON),                          # 7
    "code_str0":        (b'{"code": "0"}', JSON),                        # "0": text, out status error
    "code_str0000":     (b'{"code": "0000"}', JSON),                     # 0000
    "code_true":        (b'{"code": true}', JSON),                       # True
    "code_false":       (b'{"code": false}', JSON),                      # False (== 0: out success)
    "code_float":       (b'{"code": 1.5}', JSON),                        # 1.5
    "code_zero_float":  (b'{"code": 0.0}', JSON),                        # 0.0 (== 0: out success)
    "code_exp":         (b'{"code": 1e5}', JSON),                        # 100000.0
    "code_small_exp":   (b'{"code": 1e-7}', JSON),                       # 1e-07
    "code_neg_zero":    (b'{"code": -0.0}', JSON),                       # -0.0
    "code_bigint":      (b'{"code": 12345678901234567890}', JSON),       # 12345678901234567890
    "code_object":      (b'{"code": {"a": 1, "b": [1, "x", null, true, 2.5]}}', JSON),
                        # {'a': 1, 'b': [1, 'x', None, True, 2.5]}
    "code_array":       (b'{"code": [1, "x"]}', JSON),                   # [1, 'x']
    "code_repr_quote":  (b'{"code": ["it\'s", "say \\"hi\\" it\'s"]}', JSON),
                        # ["it's", 'say "hi" it\'s']  (Python repr picks the quotes)
    "code_null":        (b'{"code": null}', JSON),                       # inner "", out -1
    "code_missing":     (b'{"msg": "ok"}', JSON),                        # inner "", out -1
    "errorcode_only":   (b'{"errorcode": 5, "msg": "bad"}', JSON),       # inner "", out 5
    "errorcode_fuzzy":  (b'{"error_Code": "E9"}', JSON),                 # inner "", out E9
    "code_null_errorcode": (b'{"code": null, "errorCode": 8}', JSON),    # inner "", out 8
    "code_and_errorcode": (b'{"errorcode": 8, "code": 3}', JSON),        # 3 (code first)
    "top_array":        (b'[{"x": 1}, {"code": 3}]', JSON),              # 3
    "top_array_nocode": (b'[1, 2, 3]', JSON),                            # inner "", out -1
    "top_scalar":       (b'5', JSON),                                    # inner "", out -1
    "top_string":       (b'"code"', JSON),                               # inner "", out -1
    "nan":              (b'{"code": NaN}', JSON),                        # nan
    "infinity":         (b'{"code": Infinity}', JSON),                   # inf
    "neg_infinity":     (b'{"code": -Infinity}', JSON),                  # -inf
    "nested":           (b'{"data": {"result": {"code": 11}}}', JSON),   # 11
    "nested_top_wins":  (b'{"data": {"code": 11}, "code": 12, "z": {"code": 13}}', JSON),  # 12
    "nested_last_wins": (b'{"a": {"code": 1}, "b": [{"code": 2}]}', JSON),  # 2
    "nested_null_last": (b'{"a": {"code": 1}, "b": {"code": null}}', JSON),  # inner "", out -1
    "fuzzy_key":        (b'{"Co_De": "k1"}', JSON),                      # k1
    "fuzzy_first_in_object": (b'{"CODE": "first", "code": "second"}', JSON),  # first
    "unicode":          ('{"code": "caf\u00e9 \u4e2d"}'.encode("utf-8"), JSON),  # café 中
    "escape":           (b'{"code": "a\\"b\\\\c\\nd"}', JSON),           # a"b\c<newline>d (escaped)
    "json_as_text":     (b'{"code": 9}', "text/plain"),                  # 9 (parsed whatever the type)
    "json_no_type":     (b'{"code": 10}', None),                         # 10
    "html":             (b"<html><body>hello</body></html>", "text/html"),  # -1
    "empty":            (b"", None),                                     # -1
    "whitespace":       (b"   ", JSON),                                  # -1
    "latin1":           (b'{"code": "caf\xe9"}', JSON),                  # -1 (not UTF-8)
    "truncated_json":   (b'{"code": 1', JSON),                           # -1
    "gzip_json":        (gzip.compress(b'{"code": 21}', mtime=0), JSON),
                        # sent with Content-Encoding: gzip. inner -1 (Flask's after_request reads
                        # the compressed bytes); out 21 (requests inflates before .json())
}

# Replies sent with a Content-Encoding header.
ENCODINGS = {"gzip_json": "gzip"}

# Only in the `differences` scenario (the reference reads them differently from the wire).
DIFFERENCE_REPLIES = {
    "utf16_json":       ('{"code": 16}'.encode("utf-16-le"), JSON),      # reference 16 (json.loads detects UTF-16)
    "utf8_bom_json":    (b'\xef\xbb\xbf{"code": 17}', JSON),             # reference 17 (json.loads strips the BOM)
}


# Only in the `edges` scenario (session 18's audit): bodies whose reading turns on a rule of the
# reference's code that no other scenario exercises.
EDGE_REPLIES = {
    # json.loads(bytes) decodes with errors='surrogatepass': UTF-8-encoded surrogates (CESU-8, as
    # Java's "modified UTF-8" writes them) are still JSON; inner 3 / 4. requests decodes with
    # errors='replace' (U+FFFD): out 3 / 4 as well.
    "surrogate_elsewhere": (b'{"code": 3, "m": "\xed\xa0\x80"}', JSON),
    "cesu_pair_before":    (b'{"m": "\xed\xa0\xbd\xed\xb8\x80", "code": 4}', JSON),
}


def reply_encoded(name):
    """(body, Content-Type, Content-Encoding or None): a canned reply or a random campaign's;
    unknown names fall back to code_int0."""
    if random_campaign.is_random(name):
        return random_campaign.reply(name)
    body, content_type = (REPLIES.get(name) or DIFFERENCE_REPLIES.get(name) or EDGE_REPLIES.get(name)
                          or REPLIES["code_int0"])
    return body, content_type, ENCODINGS.get(name)
