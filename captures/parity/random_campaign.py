# Random-but-seeded parity campaigns: traffic nobody hand-picked, for the real reference.
#
# A campaign is a pure function of (seed, count): the driver (record.py), the app
# (app.py: /call/<plan>, /api replies) and the stubs (stubs.py) each rebuild it from
# the names that travel in the requests, so nothing but those names is shared:
#   scenario  random-<seed>-<count>            driver steps (record.py, make-fixtures.sh)
#   plan      rnd-<seed>-<count>-<index>       outgoing calls of one /call request (app.py)
#   reply     rnd-<seed>-<count>-<index>       a response body, its Content-Type and
#                                              Content-Encoding (app.py X-Reply, stubs X-Stub-Reply)
# Steps carry inner=None: the reference's own scrape is the truth, not a model of it.
#
# Randomized within what the wire can see the way the reference does; the README's
# "Known differences" are avoided (no HEAD, no `_` in inbound header names, no invalid
# UTF-8 in paths, no UTF-16/BOM bodies, no redirects followed, nothing in a URL's
# query or a Session's headers or a string body that the reference reads from
# kwargs only, and outgoing params/form values are non-empty strings: the wire
# cannot tell 0/False/None/lists from text).
#
#   random_campaign.py show SEED COUNT     print the steps and plans (for a look)
import gzip
import json
import random
import re
import zlib
from functools import lru_cache

UA_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/.;:()- _"
PATH_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*,;=:@"
UNICODE_SAMPLES = "\u00e9\u00e8\u00fc\u00df\u00ff\u00b5\u00a0\u00ad\u00d7\u4e2d\u6587\u0416\u05d0\u0627\u03a9\u2028\u200b\ufeff\u0301\u2603\U0001F600\U0001F4A9\U00010348\u0378\ue000\u3000\u1680\u0085\u007f\u0000\u0009\u000a\u000d\u001f\u0022\u0027\u005c\u2019\u201c"
CODE_KEYS_MATCH = ["code", "Code", "CODE", "co_de", "c-o-d-e", "_code_", "C_O-D_E", "cOdE", "-code", "code-", "c__ode"]
CODE_KEYS_MISS = ["codes", "cod", " code", "code ", "kode", "c0de", "co de", "codeX", "\u0441ode", "errorcodes"]
ERR_KEYS = ["errorcode", "errorCode", "error_code", "ERROR-CODE", "Error_Code", "error-code", "eRRoRcOdE"]
MC_KEYS = ["method_code", "Method-Code", "methodCode", "METHOD_CODE", "method-code", "MethodCode", "methodcode", "_method_code_"]
MC_KEYS_MISS = ["method_codes", "method code", "methodcod", "meth_od_code_x"]
MC_HEADER_NAMES = ["Method-Code", "method-code", "METHOD-CODE", "MethodCode", "methodcode", "Method-code", "mEtHoD-CoDe", "-Method-Code"]
UA_HEADER_NAMES = ["User-Agent", "user-agent", "USER-AGENT", "UserAgent", "useragent", "User-agent"]
TCODE_HEADER_NAMES = ["T-Code", "t-code", "TCode", "t_code", "T_CODE", "tcode", "T-code"]

FLOAT_TEXTS = ["1.5", "-0.0", "0.0", "1e16", "1E16", "1e-5", "1.5e300", "1e400", "-1e400", "1e-400", "1.0e+2",
               "123456789012345678.0", "0.1", "1e22", "1e23", "5e-324", "2.5E-3", "100.000", "-12.50e1",
               "0e0", "-0e-0", "1.7976931348623157e308", "2.2250738585072014e-308", "9007199254740993.0",
               "0.30000000000000004", "1e15", "123456789.123456789", "-1.5E+10", "4.35", "1e-7", "0.0001",
               "0.00001", "1234567890123456789012.5", "3.0", "-2.0e0"]
INT_TEXTS = ["0", "-0", "1", "7", "-1", "42", "100", "9007199254740993", "12345678901234567890",
             "-99999999999999999999999", "18446744073709551616", "340282366920938463463374607431768211456"]
STATUS_INBOUND = [200] * 12 + [201, 202, 206, 299, 301, 302, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503]
STATUS_OUTBOUND = [200] * 12 + [201, 202, 299, 302, 399, 400, 401, 404, 409, 500, 503]
CONTENT_TYPES_IN = ["application/json"] * 4 + ["text/plain", "text/html", None, "application/json; charset=utf-8",
                                               "application/problem+json", "application/octet-stream"]
CONTENT_TYPES_OUT = ["application/json"] * 4 + ["text/plain", "text/html", None, "application/json; charset=utf-8",
                                                "application/problem+json", "text/plain; charset=utf-8",
                                                "application/json; charset=iso-8859-1", "application/octet-stream"]
BODY_PREFIX = 64 * 1024

# Outgoing targets: (base URL, paths). Listed paths, a listed-as-"" path, unlisted ones.
YT = "http://d002.youtu.realname.dzqd.cn:38087"
YT_ALIAS = "http://172.16.50.35:9006"
OCR = "http://d110.youtu.realname.dzqd.cn:39090"
GZT = "http://d004.gzt.realname.dzqd.cn:8085"
XP = "http://d002.gzt.realname.dzqd.cn:9901"
P_EMPTY = "http://10.128.86.64:8000"
P_EMPTY2 = "http://10.130.219.34:10002"
SYSHOST = "http://b123010101.svc.local:9100"
LOCAL = "http://localhost:9101"
TARGETS = [
    (YT, ["/youtu/openliveapi/livedetectonly", "/youtu/api/facecompare", "/youtu/openliveapi/get_images_from_video",
          "/core/server/checkIdcardBase", "/not/listed", "/youtu/api/facecompare/", "/Youtu/api/facecompare"]),
    (YT_ALIAS, ["/youtu/openliveapi/livegetfour", "/other"]),
    (OCR, ["/youtu/ocrapi/idcardocr", "/youtu/ocrapi/idcardocr2"]),
    (GZT, ["/ocr/analyse/p1/front", "/ocr/face/p1/hand", "/face/decrypt", "/ocr/face/p2/video/verify", "/x%20y"]),
    (XP, ["/xpcompare", "/xpcompare/more"]),
    (P_EMPTY, ["/serviceAgent/rest/external/singleIdInfo", "/other/path"]),
    (P_EMPTY2, ["/core/server/checkIdcardBaseFace", "/core/server/checkIdcardBase", "/zzz"]),
    (SYSHOST, ["/svc/a", "/svc/%2Fb", "/"]),
    (LOCAL, ["/x", "/m", "/a/b/c", "/caf%C3%A9"]),
]


def _pick(r, seq):
    return seq[r.randrange(len(seq))]


# ------------------------------------------------------------------ JSON values as text

def _json_string(r, max_len=12):
    """A JSON string literal with escapes, \\uXXXX (surrogate pairs too) and raw UTF-8."""
    out = ['"']
    for _ in range(r.randrange(max_len + 1)):
        k = r.random()
        if k < 0.45:
            out.append(_pick(r, "abcXYZ019 -_.:/'"))
        elif k < 0.6:
            out.append(_pick(r, ['\\"', "\\\\", "\\/", "\\n", "\\t", "\\r", "\\b", "\\f"]))
        elif k < 0.8:
            c = _pick(r, UNICODE_SAMPLES)
            if ord(c) > 0xFFFF:
                v = ord(c) - 0x10000
                out.append("\\u%04x\\u%04X" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append("\\u%04x" % ord(c) if r.random() < 0.5 else "\\u%04X" % ord(c))
        else:
            c = _pick(r, UNICODE_SAMPLES)
            if c in '"\\' or ord(c) < 0x20:
                c = "\\u%04x" % ord(c)
            out.append(c)
    out.append('"')
    return "".join(out)


def _number(r):
    k = r.random()
    if k < 0.4:
        return _pick(r, INT_TEXTS)
    if k < 0.8:
        return _pick(r, FLOAT_TEXTS)
    if k < 0.9:
        return repr(r.uniform(-1e6, 1e6) * 10 ** r.randrange(-30, 30))
    return str(r.randrange(-10 ** r.randrange(1, 60), 10 ** r.randrange(1, 60)))


def _scalar(r):
    k = r.random()
    if k < 0.35:
        return _number(r)
    if k < 0.65:
        return _json_string(r)
    return _pick(r, ["true", "false", "null", "NaN", "Infinity", "-Infinity", '""', '"0"', "0", '"0000"'])


def _ws(r):
    return _pick(r, ["", "", "", " ", "  ", "\n", "\t", "\r\n ", " \n\t "])


def _composite(r, depth, inner_key=None, inner_value=None):
    """A JSON object or array (text) with quotes for Python's repr, maybe holding inner_key."""
    if r.random() < 0.45:
        items = [_value(r, depth + 1) for _ in range(r.randrange(4))]
        if inner_key is not None:
            items.insert(r.randrange(len(items) + 1), _obj(r, depth + 1, inner_key, inner_value))
        return "[" + ",".join(_ws(r) + i + _ws(r) for i in items) + "]"
    return _obj(r, depth + 1, inner_key, inner_value)


def _obj(r, depth, inner_key=None, inner_value=None):
    pairs = []
    for _ in range(r.randrange(4)):
        pairs.append((_json_string(r, 6) if r.random() < 0.3 else '"%s"' % _pick(r, ["a", "b", "msg", "data", "x"]),
                      _value(r, depth + 1)))
    if inner_key is not None:
        pairs.insert(r.randrange(len(pairs) + 1), ('"%s"' % inner_key, inner_value))
    return "{" + ",".join(_ws(r) + k + _ws(r) + ":" + _ws(r) + v + _ws(r) for k, v in pairs) + "}"


def _value(r, depth=0):
    if depth < 3 and r.random() < 0.3:
        return _composite(r, depth)
    return _scalar(r)


def _escaped_key(r, key):
    """The key, sometimes with a letter written as a \\u escape (JSON decodes it)."""
    if r.random() < 0.15 and key:
        i = r.randrange(len(key))
        return key[:i] + "\\u%04x" % ord(key[i]) + key[i + 1:]
    return key


def _code_document(r, key_pool, miss_pool):
    """A JSON document (text) with the searched key at a random place, spelling and depth."""
    value = _value(r) if r.random() < 0.35 else _scalar(r)
    key = _escaped_key(r, _pick(r, key_pool)) if r.random() < 0.85 else _pick(r, miss_pool)
    depth = _pick(r, [0, 0, 0, 1, 1, 2, 3])
    doc = None
    for d in range(depth, -1, -1):
        if doc is None:
            doc = _obj(r, d, key, value)
        else:
            doc = _obj(r, d, _pick(r, ["data", "result", "x", "list"]), doc) if r.random() < 0.6 \
                else "[" + doc + "]"
    k = r.random()
    if k < 0.1:     # duplicate keys: Python keeps the last value at the first key's place
        doc = "{" + '"%s": %s, "x": {"%s": %s}, "%s": %s' % (key, _scalar(r), key, _scalar(r), key, _scalar(r)) + "}"
    elif k < 0.15:  # another match later in the document (last match wins, a null clears)
        doc = "{" + '"a": %s, "b": [%s]' % (_obj(r, 1, key, _scalar(r)), _obj(r, 1, _pick(r, key_pool), _scalar(r))) + "}"
    elif k < 0.2:   # top level array
        doc = "[" + doc + ", " + _obj(r, 1, key, _scalar(r)) + "]"
    return _ws(r) + doc + _ws(r)


def _broken(r, doc):
    """Invalid JSON (or valid with odd whitespace) made from a document."""
    return _pick(r, [
        doc[:max(1, len(doc) // 2)], doc + " x", doc + "{}", doc + ",", "'" + doc + "'", doc.replace(":", "=", 1),
        doc.replace('"', "'", 2), "{,}", "[1,]", '{"code": 1,}', '{"code": 01}', '{"code": +1}', '{"code": .5}',
        '{"code": 1.}', '{"code": "a\tb"}', '{"code": "\x01"}', '{"code": tru}', '{"code": nan}', '{"code": "\\x41"}',
        '{"code": "\\u12"}', "\x0c" + doc, doc + "\x00", "\u00a0" + doc, '{"code": 1e}', '{"code": -}',
        '{"code": "\\ud800"}',   # a lone surrogate: JSON accepts it; kept out below
        "1 2", "",
    ])


def _body_bytes(r, key_pool, miss_pool, invalid_utf8=True):
    k = r.random()
    doc = _code_document(r, key_pool, miss_pool)
    if k < 0.1:
        doc = _broken(r, doc)
        if "\\ud800" in doc:        # a lone surrogate breaks the reference's own scrape (UTF-8 encode)
            doc = '{"code": 1}'
    elif k < 0.13:
        doc = _pick(r, ["<html>code</html>", "code=1", "null", "5", '"code"', "true", "[]", "{}", "   ", "[[[]]]"])
    elif k < 0.16:                   # a very large integer: Python refuses more than 4300 digits
        doc = '{"code": %s}' % ("9" * _pick(r, [4301, 5000]))  # 4300 would be a 4300-byte label
    body = doc.encode("utf-8")
    if r.random() < 0.04 and invalid_utf8:   # not UTF-8
        body = body.replace(b"a", b"\xe9", 1) if b"a" in body else b'{"code": "\xff"}'
    if r.random() < 0.06:           # near the 64 KiB body prefix, the key before or after the padding
        pad = BODY_PREFIX + r.randrange(-60, 1) - len(body)   # up to the bound (beyond: README)
        filler = b'"pad": "' + b"p" * max(0, pad - 11) + b'"'
        body = (b"{" + filler + b", " + body[1:]) if body.startswith(b"{") and r.random() < 0.5 else \
               (body[:-1] + b", " + filler + b"}" if body.endswith(b"}") else body + b" " * max(0, pad))
    return body


@lru_cache(maxsize=8)
def campaign(seed, count):
    """{"steps": [...], "plans": {name: [...]}, "replies": {name: (body, type, encoding)}}."""
    r = random.Random(seed)
    base = "rnd-%d-%d" % (seed, count)
    replies, plans, steps = {}, {}, []

    def new_reply(outbound):
        name = "%s-%d" % (base, len(replies))
        ctype = _pick(r, CONTENT_TYPES_OUT if outbound else CONTENT_TYPES_IN)
        # requests decodes a body of no declared charset that is not UTF-8 by charset_normalizer's
        # guess (README "Known differences"): outgoing replies are not UTF-8 only with a charset.
        declared = ctype is not None and ("charset" in ctype or "text" in ctype or "application/json" in ctype)
        body = _body_bytes(r, CODE_KEYS_MATCH + (ERR_KEYS if outbound else []), CODE_KEYS_MISS,
                           invalid_utf8=declared or not outbound)
        enc = _pick(r, [None] * 12 + ["gzip", "deflate", "deflate-raw"])
        if enc == "gzip":
            body = gzip.compress(body, mtime=0)
        elif enc == "deflate":
            body = zlib.compress(body)
        elif enc == "deflate-raw":
            c = zlib.compressobj(wbits=-15)
            body = c.compress(body) + c.flush()
        replies[name] = (body, ctype, "deflate" if enc == "deflate-raw" else enc)
        return name

    for i in range(count):
        if r.random() < 0.18:
            steps.append(_call_step(r, base, len(plans), plans, new_reply, new_conn=r.random() < 0.3))
        else:
            steps.append(_inbound_step(r, new_reply(False), new_conn=r.random() < 0.25))
    return {"steps": steps, "plans": plans, "replies": replies}


# ------------------------------------------------------------------ inbound requests

def _pct(s):
    """s as UTF-8, each byte outside PATH_SAFE percent-encoded."""
    return "".join(chr(b) if chr(b) in PATH_SAFE else "%%%02X" % b for b in s.encode("utf-8"))


def _segment(r):
    k = r.random()
    if k < 0.4:
        return "".join(_pick(r, "abcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(r.randrange(1, 10)))
    if k < 0.55:
        return _pct("".join(_pick(r, UNICODE_SAMPLES[:22]) for _ in range(r.randrange(1, 4))))
    if k < 0.7:
        return _pick(r, ["%2F", "%3F", "%23", "%25", "%26", "%3D", "%2B", "+", "%20", "%22", "%5C", "%7E", "%2e",
                         "%2E%2E", "%c3%a9", "%e4%b8%ad", "%zz", "%4", "a%2", "%F0%9F%98%80", "%00", "%0A", "%7F"])
    if k < 0.8:
        return _pick(r, [".", "..", "", "...", ".a", "a."])
    if k < 0.9:
        return "".join(_pick(r, PATH_SAFE) for _ in range(r.randrange(1, 8)))
    return "L" * r.randrange(100, 400)     # a path label stays under our 2048-byte label bound


def _query(r, mc_value):
    k = r.random()
    if k < 0.45 and mc_value is None:
        return ""
    if k < 0.5 and mc_value is None:
        return "?"
    args = []
    for _ in range(r.randrange(0 if mc_value is not None else 1, 4)):
        args.append(_pick(r, ["x", "a", "flag", "q"]) + _pick(r, ["", "=", "=1", "=%20", "=a+b", "=%C3%A9"]))
    if mc_value is not None:
        key = _pick(r, MC_KEYS + ["method%5Fcode", "Method%2DCode"])
        args.insert(r.randrange(len(args) + 1), key + "=" + mc_value)
        if r.random() < 0.2:
            args.append(key + "=second")
    if r.random() < 0.1:
        args.append(_pick(r, MC_KEYS_MISS).replace(" ", "+") + "=miss")
    sep = _pick(r, ["&"] * 8 + ["&&", ";"])     # Werkzeug splits on & only
    return "?" + sep.join(args)


def _text_value(r):
    """A method_code value as text on the wire (query/form/header)."""
    return _pick(r, ["Q1", "0", "", "a+b", "a%20b", "%C3%A9t%C3%A9", "x%2By", "%", "%zz", "v" * 30, "M%00N", "%E4%B8%AD",
                     "1.50", "None", "true", "'q'", "%22dq%22", "%5C"])


def _ua_value(r):
    n = _pick(r, [0, 5, 19, 20, 20, 21, 21, 22, 25, 60])
    out = bytearray()
    while len(out) < n:
        k = r.random()
        if k < 0.7:
            out += _pick(r, UA_CHARS).encode()
        elif k < 0.8:
            out += bytes([r.randrange(0xA0, 0x100)])          # latin-1
        elif k < 0.9:
            out += _pick(r, "\u00e9\u4e2d\U0001F600\u00df").encode("utf-8")   # UTF-8 read as latin-1
        else:
            out += _pick(r, ['"', "\\", "'", "\t", "\\n", "%"]).encode()
    if r.random() < 0.1:
        out = b"  " + bytes(out) + b"  "                     # optional whitespace around the value
    return bytes(out)


def _inbound_step(r, reply_name, new_conn):
    method = _pick(r, ["GET"] * 4 + ["POST"] * 4 + ["PUT", "DELETE", "PATCH", "OPTIONS"])
    path = "/api/" + "/".join(_segment(r) for _ in range(r.randrange(1, 5)))
    if r.random() < 0.08:
        path = path.replace("/api/", "/api//", 1) if r.random() < 0.5 else path + "/"
    where = _pick(r, ["none", "header", "query", "form", "multipart", "json", "json", "json"])
    headers = []
    if r.random() < 0.9:
        ua_name = _pick(r, UA_HEADER_NAMES)
        headers.append((ua_name, _ua_value(r)))
        if r.random() < 0.05:
            headers.append((ua_name, _ua_value(r)))         # twice: joined with ", "
    headers.append(("X-Reply", reply_name))
    status = _pick(r, STATUS_INBOUND)
    if status != 200:
        headers.append(("X-Status", str(status)))
    if r.random() < 0.1:
        headers.append(("X-Chunked", "1"))
    query, body = "", b""
    if where == "header" or r.random() < 0.15:
        headers.append((_pick(r, MC_HEADER_NAMES), _pick(r, [b"H1", b"0", b"", b" h2 ", b"caf\xe9", b"a\\b\"c", b"x" * 40])))
    if where == "query":
        query = _query(r, _text_value(r))
    else:
        query = _query(r, None) if r.random() < 0.3 else ""
    if where in ("form", "json", "multipart", "none") and method == "GET" and r.random() < 0.5:
        method = "POST"
    if where == "form":
        pairs = ["%s=%s" % (_pick(r, MC_KEYS), _text_value(r))]
        for _ in range(r.randrange(3)):
            pairs.insert(r.randrange(len(pairs) + 1), "%s=%s" % (_pick(r, ["a", "b", "x"]), _text_value(r)))
        body = "&".join(pairs).encode()
        headers.append(("Content-Type", _pick(r, ["application/x-www-form-urlencoded",
                                                  "application/x-www-form-urlencoded; charset=utf-8",
                                                  "Application/X-WWW-Form-Urlencoded"])))
        if r.random() < 0.2:
            body += _pick(r, [b"&flag", b"&=x", b"&%zz=1", b"&&", b"&a=%", b"&" + _pick(r, MC_KEYS).encode() + b"=later"])
    elif where == "multipart":
        key = _pick(r, MC_KEYS)
        # a part with a filename is a file, not a form field (only files: the form is empty)
        first = _pick(r, [b'name="a"', b'name="a"', b'name="up"; filename="a.txt"'])
        mc = _pick(r, [b'name="' + key.encode() + b'"'] * 3 + [b'name="' + key.encode() + b'"; filename="m.txt"'])
        body = (b'--XyZ\r\nContent-Disposition: form-data; ' + first + b'\r\n\r\n1\r\n'
                b'--XyZ\r\nContent-Disposition: form-data; ' + mc + b'\r\n\r\n'
                + _pick(r, [b"F1", b"0", b"", b"caf\xc3\xa9", b"a b"]) + b"\r\n--XyZ--\r\n")
        headers.append(("Content-Type", "multipart/form-data; boundary=XyZ"))
    elif where == "json" or (where == "none" and r.random() < 0.3):
        body = _body_bytes(r, MC_KEYS, MC_KEYS_MISS)
        if len(body) > 2 * BODY_PREFIX:
            body = body[:2 * BODY_PREFIX]
        ctype = _pick(r, ["application/json", "application/json", "text/plain", None, "application/json; charset=utf-8",
                          "APPLICATION/JSON"])
        if ctype:
            headers.append(("Content-Type", ctype))
        if r.random() < 0.05:       # Flask reads the compressed bytes: not JSON to the reference
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
    if body and r.random() < 0.1:
        headers.append(("Transfer-Encoding", "chunked"))
        cut = r.randrange(len(body) + 1)
        ext = _pick(r, [b"", b"", b";ext=1", b";a=b"])   # " ;a=b" (BWS): waitress answers 400 itself (README)
        body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in (body[:cut], body[cut:]) if p) + b"0\r\n\r\n"
    if body and r.random() < 0.04:
        headers.append(("Expect", "100-continue"))      # waitress answers 100 Continue first
    r.shuffle(headers)
    return dict(method=method, target=path + query, headers=headers, body=body, new_conn=new_conn, inner=None)


# ------------------------------------------------------------------ outgoing calls

def _call_step(r, base, index, plans, new_reply, new_conn):
    name = "%s-%d" % (base, index)
    plans[name] = [_outgoing_call(r, new_reply) for _ in range(r.randrange(1, 7))]
    return dict(method="GET", target="/call/" + name, headers=[("User-Agent", "parity-driver/1.0")], body=b"",
                new_conn=new_conn, inner=None)


def _mc_text(r):
    return _pick(r, ["M1", "0", "", "x y", "caf\u00e9", "a&b=c", "+", "%41", "v" * 25, "True", "1.0"])


def _json_for_mc(r):
    key = _pick(r, MC_KEYS) if r.random() < 0.85 else _pick(r, MC_KEYS_MISS)
    value = _pick(r, ["J1", "", "0", 0, 1, 0.0, 1.5, 1e16, 1e-5, -0.0, True, False, None, [1, "x"], {"k": "it's"},
                      "caf\u00e9", 'q"uote', 12345678901234567890, "\U0001F600"])   # requests refuses NaN (allow_nan=False)
    doc = {key: value}
    for _ in range(r.randrange(4)):
        doc = _pick(r, [{"data": doc}, [doc], {"a": 1, "b": doc}, [{"x": None}, doc], {"z": doc, "m": "n"}])
    if r.random() < 0.2:
        doc = {"a": doc, "b": {_pick(r, MC_KEYS): _pick(r, ["J2", None, 0, "late"])}}
    return doc


def _drop_folded(headers, folded):
    """One header per fuzzy name: requests folds names by case (the wire then shows the
    last value), while the reference reads the first key of the call's dict."""
    for name in [n for n in headers if n.replace("-", "").replace("_", "").lower() == folded]:
        del headers[name]


def _outgoing_call(r, new_reply):
    base_url, paths = _pick(r, TARGETS)
    path = _pick(r, paths)
    method = _pick(r, ["GET", "POST", "POST", "PUT", "DELETE", "PATCH"])
    headers, params, data, json_body, files = {}, None, None, None, None
    for _ in range(r.randrange(3)):
        what = _pick(r, ["mc_header", "tcode", "params", "data", "json", "files"])
        if what == "mc_header":
            _drop_folded(headers, "methodcode")
            headers[_pick(r, MC_HEADER_NAMES + ["method_code", "Method_Code"])] = _pick(r, ["H1", "0", "", "h2", "caf\u00e9"])
        elif what == "tcode":
            _drop_folded(headers, "tcode")
            headers[_pick(r, TCODE_HEADER_NAMES)] = _pick(r, ["", "abc", "t1", "stra\u00dfe", "\u00b5x", "\u00ff", "A123010101", "s p"])
        elif what == "params":
            params = {_pick(r, MC_KEYS + ["x"]): _mc_text(r) or "p"}
            if r.random() < 0.3:
                params["other"] = "1"
        elif what == "data" and json_body is None:
            data = {_pick(r, MC_KEYS + ["y"]): _mc_text(r) or "d"}
        elif what == "json" and data is None and files is None:
            json_body = _json_for_mc(r)
        elif what == "files" and json_body is None:
            files = {"f": ("a.txt", b"abc")}
            data = data or {_pick(r, MC_KEYS): _mc_text(r) or "f"}
    reply_name = new_reply(True)
    stub = {"X-Stub-Reply": reply_name, "X-Stub-Status": str(_pick(r, STATUS_OUTBOUND))}
    if r.random() < 0.15:
        stub["X-Stub-Chunked"] = "1"
    url = base_url + path
    return dict(method=method, url=url, headers={**headers, **stub}, params=params, data=data, json=json_body,
                files=files, session="new" if r.random() < 0.25 else "shared", partner=None, external=None,
                session_headers=None, wire_requests=1, raises=False, timeout=10)


# ------------------------------------------------------------------ names

# The committed random campaigns (parity-scenarios.txt, ParityTests): make-fixtures.sh makes them
# with the hand-written scenarios; any other random-SEED-COUNT is made when named.
FIXTURES = ["random-101-200"]

NAME = re.compile(r"^(?:random|rnd)-(\d+)-(\d+)(?:-(\d+))?$")


def parse(name):
    m = NAME.match(name)
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def is_random(name):
    return parse(name) is not None


def steps(scenario):
    seed, count, _ = parse(scenario)
    return campaign(seed, count)["steps"]


def plan(name):
    seed, count, _ = parse(name)
    return campaign(seed, count)["plans"][name]


def reply(name):
    """(body, Content-Type, Content-Encoding) of a campaign reply."""
    seed, count, _ = parse(name)
    return campaign(seed, count)["replies"][name]


if __name__ == "__main__":
    import sys
    c = campaign(int(sys.argv[2]), int(sys.argv[3]))
    for s in c["steps"]:
        print(s["method"], s["target"][:120], s["headers"], s["body"][:120])
        if s["target"].startswith("/call/"):
            for call in c["plans"][s["target"][6:]]:
                print("    ", call["method"], call["url"], call["headers"], call["params"], call["data"], call["json"])
    print(len(c["steps"]), "steps,", sum(len(p) for p in c["plans"].values()), "calls")
