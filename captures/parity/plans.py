# Outgoing-call plans: what the app does with `requests` when the driver hits /call/<plan>.
#
# Each call says how it is made and what the reference should record for it:
#   partner = (partner, action_code, http_status, code) for partner_http_metrics, or None
#   external = (tcode, method_code, status) for external_calls_total / _duration_seconds
# The stub reply is chosen by X-Stub-* headers (see stubs.py); they match no key
# the reference searches. `session`: "shared" = the app's one requests.Session
# (keep-alive), "new" = a fresh Session per call (a new connection, SYN seen);
# session_headers = that new Session's default headers. wire_requests = HTTP
# exchanges the call makes on the wire (a followed redirect makes 2). raises: the
# call is expected to fail (refused, timed out): the reference records nothing.

YT = "http://d002.youtu.realname.dzqd.cn:38087"      # partner 1 (shared entry, merged paths)
YT_ALIAS = "http://172.16.50.35:9006"                 # alias of the YT entry
OCR = "http://d110.youtu.realname.dzqd.cn:39090"     # partner 1
GZT = "http://d004.gzt.realname.dzqd.cn:8085"        # partner 2
XP = "http://d002.gzt.realname.dzqd.cn:9901"         # partner 2
P_EMPTY = "http://10.128.86.64:8000"                 # partner ""  (resolved to 127.0.0.1)
P_EMPTY2 = "http://10.130.219.34:10002"              # partner ""  (resolved to 127.0.0.1)
SYSHOST = "http://b123010101.svc.local:9100"         # not a partner; syscode-like host label
LOCAL = "http://localhost:9101"                      # not a partner

STUB_PORTS = [38087, 9006, 39090, 8085, 9901, 8000, 10002, 9100, 9101]
REFUSED_PORT = 9199          # nothing listens here: a call that is refused (SYN, RST)


def call(method, url, reply="code_int0", status=200, delay_ms=0, headers=None, params=None,
         data=None, json=None, files=None, session="shared", partner=None, external=None,
         session_headers=None, wire_requests=1, raises=False, timeout=10, stub_chunked=False):
    stub = {"X-Stub-Reply": reply, "X-Stub-Status": str(status)}
    if stub_chunked:
        stub["X-Stub-Chunked"] = "1"
    if delay_ms:
        stub["X-Stub-Delay-Ms"] = str(delay_ms)
    return dict(method=method, url=url, headers={**(headers or {}), **stub}, params=params,
                data=data, json=json, files=files, session=session,
                partner=partner, external=external,
                session_headers=session_headers, wire_requests=wire_requests,
                raises=raises, timeout=timeout)


PLANS = {
    # Partner host, listed / listed-as-"" / unlisted paths, aliases and merged paths.
    "partner_paths": [
        call("GET", YT + "/youtu/openliveapi/livedetectonly",
             partner=("1", "805", "200", "0"), external=("1", "805", "success")),
        call("POST", YT + "/youtu/api/facecompare", reply="code_str0", json={"img": "x"},
             partner=("1", "807", "200", "0"), external=("1", "807", "error")),
        call("POST", YT + "/youtu/openliveapi/get_images_from_video", headers={"Method-Code": "HM1"},
             partner=("1", "", "200", "0"), external=("1", "", "success")),
        call("GET", YT + "/not/listed", headers={"Method-Code": "HM2"},
             partner=("1", "", "200", "0"), external=("1", "HM2", "success")),
        call("GET", YT + "/not/listed", params={"x": "1"}, json={"deep": [{"methodCode": "JM1"}]},
             partner=("1", "", "200", "0"), external=("1", "JM1", "success")),
        call("GET", YT + "/core/server/checkIdcardBase", headers={"Method-Code": "HM3"},
             partner=("1", "", "200", "0"), external=("1", "", "success")),
        call("POST", YT + "/serviceAgent/rest/external/singleIdInfo", data={"id": "1"},
             partner=("1", "820", "200", "0"), external=("1", "820", "success")),
        call("GET", YT_ALIAS + "/youtu/openliveapi/livegetfour",
             partner=("1", "801", "200", "0"), external=("1", "801", "success")),
        call("GET", YT + "/youtu/openliveapi/livedetectonly?extra=query", session="new",
             partner=("1", "805", "200", "0"), external=("1", "805", "success")),
    ],
    # Business codes of partner replies: code, then errorcode, else -1; status rule.
    "partner_codes": [
        call("POST", GZT + "/ocr/analyse/p1/front", reply="errorcode_only",
             partner=("2", "401", "200", "5"), external=("2", "401", "error")),
        call("POST", GZT + "/ocr/analyse/p1/back", reply="code_null_errorcode",
             partner=("2", "402", "200", "8"), external=("2", "402", "error")),
        call("POST", GZT + "/ocr/face/p1/hand", reply="code_missing",
             partner=("2", "404", "200", "-1"), external=("2", "404", "error")),
        call("POST", GZT + "/ocr/face/p1/mask", reply="html",
             partner=("2", "403", "200", "-1"), external=("2", "403", "error")),
        call("POST", GZT + "/face/decrypt", reply="empty",
             partner=("2", "408", "200", "-1"), external=("2", "408", "error")),
        call("POST", GZT + "/ocr/face/p2/video/verify", reply="code_false",
             partner=("2", "407", "200", "False"), external=("2", "407", "success")),
        call("POST", GZT + "/ocr/face/p2/decrypt/verify/images", reply="code_zero_float",
             partner=("2", "406", "200", "0.0"), external=("2", "406", "success")),
        call("POST", GZT + "/ocr/analyse/p1/front/order", status=500,
             partner=("2", "405", "500", "0"), external=("2", "405", "error")),
        call("POST", XP + "/xpcompare", status=400,
             partner=("2", "408", "400", "0"), external=("2", "408", "error")),
        call("POST", XP + "/xpcompare", reply="code_and_errorcode",
             partner=("2", "408", "200", "3"), external=("2", "408", "error")),
        call("POST", XP + "/xpcompare", reply="errorcode_fuzzy",
             partner=("2", "408", "200", "E9"), external=("2", "408", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="nested_last_wins",
             partner=("1", "802", "200", "2"), external=("1", "802", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="code_object",
             partner=("1", "802", "200", "{'a': 1, 'b': [1, 'x', None, True, 2.5]}"),
             external=("1", "802", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="top_array",
             partner=("1", "802", "200", "3"), external=("1", "802", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="nan",
             partner=("1", "802", "200", "nan"), external=("1", "802", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="code_true",
             partner=("1", "802", "200", "True"), external=("1", "802", "error")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", status=201,
             partner=("1", "802", "201", "0"), external=("1", "802", "success")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="code_int0", session="new",
             partner=("1", "802", "200", "0"), external=("1", "802", "success")),
        call("POST", OCR + "/youtu/ocrapi/idcardocr", reply="gzip_json",
             partner=("1", "802", "200", "21"), external=("1", "802", "error")),
        call("POST", GZT + "/ocr/face/p1/hand", reply="code_int7", stub_chunked=True,
             partner=("2", "404", "200", "7"), external=("2", "404", "error")),
        call("POST", GZT + "/ocr/face/p1/hand", reply="gzip_json", stub_chunked=True,
             partner=("2", "404", "200", "21"), external=("2", "404", "error")),
    ],
    # Partner entries whose partner value is "": tcode falls back to T-Code / host label.
    "partner_empty": [
        call("POST", P_EMPTY + "/serviceAgent/rest/external/singleIdInfo", headers={"T-Code": "c123456789"},
             partner=("", "820", "200", "0"), external=("C123456789", "820", "success")),
        call("GET", P_EMPTY + "/other/path", headers={"Method-Code": "PM1"},
             partner=("", "", "200", "0"), external=("", "PM1", "success")),
        call("GET", P_EMPTY2 + "/core/server/checkIdcardBase", headers={"Method-Code": "PM2"},
             partner=("", "", "200", "0"), external=("", "", "success")),
        call("GET", P_EMPTY2 + "/core/server/checkIdcardBaseFace", headers={"T_Code": "x1"}, reply="code_str0000",
             partner=("", "831", "200", "0000"), external=("X1", "831", "error")),
    ],
    # Non-partner calls: tcode from T-Code (even empty) or a syscode-like host label.
    "external_tcode": [
        call("GET", SYSHOST + "/svc/a", external=("B123010101", "", "success")),
        call("GET", SYSHOST + "/svc/b", headers={"T-Code": ""}, external=("", "", "success")),
        call("GET", SYSHOST + "/svc/c", headers={"t-code": "z9"}, external=("Z9", "", "success")),
        call("GET", LOCAL + "/x", headers={"T-Code": "abc"}, external=("ABC", "", "success")),
        call("GET", LOCAL + "/x", headers={"TCode": "def"}, external=("DEF", "", "success")),
        call("GET", LOCAL + "/x", external=("", "", "success")),
        call("GET", LOCAL + "/x", reply="code_str0", external=("", "", "error")),
        call("GET", LOCAL + "/x", reply="html", external=("", "", "error")),
        call("GET", LOCAL + "/x", status=302, external=("", "", "success")),
        call("GET", LOCAL + "/x", reply="code_false", status=399, external=("", "", "success")),
        call("GET", SYSHOST + "/svc/d", session="new", external=("B123010101", "", "success")),
        # refused (nothing listens): the call raises, the reference records nothing
        call("GET", "http://localhost:%d/refused" % REFUSED_PORT, session="new", raises=True,
             wire_requests=0),
    ],
    # Non-partner calls: Method-Code searched in headers, query, form, JSON; the last match wins.
    "external_method_code": [
        call("GET", LOCAL + "/m", headers={"Method-Code": "H1"}, external=("", "H1", "success")),
        call("GET", LOCAL + "/m", headers={"Method-Code": "0"}, external=("", "0", "success")),
        call("GET", LOCAL + "/m", headers={"method_code": "H2"}, external=("", "H2", "success")),
        call("GET", LOCAL + "/m", params={"method_code": "Q1"}, external=("", "Q1", "success")),
        call("POST", LOCAL + "/m", data={"methodCode": "F1"}, external=("", "F1", "success")),
        call("POST", LOCAL + "/m", data={"method_code": "F2"}, files={"f": ("a.txt", b"abc")},
             external=("", "F2", "success")),
        call("POST", LOCAL + "/m", json={"a": {"b": [{"Method_Code": "J1"}]}}, external=("", "J1", "success")),
        call("POST", LOCAL + "/m", headers={"Method-Code": "H3"}, json={"method_code": "J2"},
             external=("", "J2", "success")),
        call("GET", LOCAL + "/m", headers={"Method-Code": "H4"}, params={"method_code": "Q2"},
             external=("", "Q2", "success")),
        call("POST", LOCAL + "/m", headers={"Method-Code": "H5"}, json={"method_code": None},
             external=("", "", "success")),
        call("POST", LOCAL + "/m", json={"method_code": 0}, external=("", "", "success")),
        call("POST", LOCAL + "/m", json={"method_code": False}, external=("", "", "success")),
        call("POST", LOCAL + "/m", json={"method_code": ""}, external=("", "", "success")),
        call("POST", LOCAL + "/m", json={"method_code": 42}, external=("", "42", "success")),
        call("POST", LOCAL + "/m", json={"method_code": True}, external=("", "True", "success")),
        call("POST", LOCAL + "/m", json={"method_code": "J3", "x": {"method_code": "J4"}},
             external=("", "J3", "success")),
        call("POST", LOCAL + "/m", json={"x": {"method_code": "J4"}, "method_code": "J5"},
             external=("", "J5", "success")),
        call("POST", LOCAL + "/m", json={"x": {"method_code": "J6"}, "y": [{"method_code": "J7"}]},
             external=("", "J7", "success")),
        call("POST", LOCAL + "/m", json=[{"method_code": "J8"}], external=("", "J8", "success")),
        call("POST", SYSHOST + "/m", json={"method_code": "J9"}, reply="errorcode_only",
             external=("B123010101", "J9", "error")),
    ],
    # Timing: stub delays mid-bucket, on one keep-alive connection per host ...
    "timing_shared": [
        call("GET", GZT + "/ocr/face/p1/hand", delay_ms=d,
             partner=("2", "404", "200", "0"), external=("2", "404", "success"))
        for d in (50, 150, 350, 650, 900, 1250)
    ],
    # ... and on a new connection per call (the duration starts at the SYN).
    "timing_new": [
        call("GET", LOCAL + "/t", delay_ms=d, session="new", external=("", "", "success"))
        for d in (50, 150, 350, 650, 900, 1250)
    ],
    # Known differences between the reference and any wire observer (scenario `differences`):
    # partner / external give what the REFERENCE records; README.md says what the wire shows.
    "differences": [
        # requests follows the redirect: the reference records 1 call (the whole chain, under the
        # first URL, with the last status); the wire shows 2 exchanges (302, then 200).
        call("GET", LOCAL + "/start", headers={"Method-Code": "R1", "X-Stub-Location": "/landed"},
             external=("", "R1", "success"), wire_requests=2),
        # Method-Code written into the URL's query: the reference searches params= only -> "".
        call("GET", LOCAL + "/q?method_code=U2", external=("", "", "success")),
        # A Session's default header: the reference searches the call's headers= only -> "".
        call("GET", LOCAL + "/s", session="new", session_headers={"Method-Code": "S1"},
             external=("", "", "success")),
        # A form body passed as a string: the reference searches dict bodies only -> "".
        call("POST", LOCAL + "/f", data="method_code=S2",
             headers={"Content-Type": "application/x-www-form-urlencoded"}, external=("", "", "success")),
        # Upper-case host in the URL: the reference's table lookup is case-sensitive (not a
        # partner); urllib3 writes the Host header in lower case.
        call("GET", "http://D002.youtu.realname.dzqd.cn:38087/youtu/openliveapi/livedetectonly",
             external=("", "", "success")),
        # A call that times out (stub answers after 700 ms, timeout 200 ms): the reference records
        # nothing; the wire shows the request and, after the client's FIN, the late response.
        call("GET", LOCAL + "/slow", delay_ms=700, timeout=0.2, session="new", raises=True),
        # user:password@ in the URL: part of the reference's netloc (not a partner); not in Host.
        call("GET", "http://user:pw@d002.youtu.realname.dzqd.cn:38087/youtu/openliveapi/livedetectonly",
             external=("", "", "success")),
    ],
    # Session 18's audit (scenario `edges`): rules read from the reference's code.
    "edges": [
        # urlparse(url).path drops `;params` of the last segment: the listed path's action.
        call("GET", YT + "/youtu/api/facecompare;jsessionid=A1",
             partner=("1", "807", "200", "0"), external=("1", "807", "success")),
        # ... of the last segment only: `;` in an earlier one stays, the path is not listed.
        call("GET", YT + "/youtu;v=1/api/facecompare", headers={"Method-Code": "HP1"},
             partner=("1", "", "200", "0"), external=("1", "HP1", "success")),
        # requests decodes with errors='replace': a surrogate elsewhere leaves the code readable.
        call("GET", GZT + "/face/decrypt", reply="surrogate_elsewhere",
             partner=("2", "408", "200", "3"), external=("2", "408", "error")),
        call("GET", LOCAL + "/cesu", reply="cesu_pair_before", external=("", "", "error")),
        # FuzzyGet over the headers dict: the first matching key, even empty, ends the search.
        call("GET", LOCAL + "/t1", headers={"T-Code": "", "TCode": "X1"}, external=("", "", "success")),
        call("GET", LOCAL + "/t2", headers={"TCode": "y2", "T-Code": "X2"}, external=("Y2", "", "success")),
        # The last match wins, and a falsy one (an empty list, 0.0, a nested later None) blanks it.
        call("POST", LOCAL + "/m1", headers={"Method-Code": "H1"}, json={"method_code": []},
             external=("", "", "success")),
        call("POST", LOCAL + "/m2", headers={"Method-Code": "H2"}, json={"x": {"method_code": 0.0}},
             external=("", "", "success")),
        call("POST", LOCAL + "/m3", json={"a": {"method_code": "J3"}, "method_code": None},
             external=("", "", "success")),
        call("POST", LOCAL + "/m4", json={"a": [{"method_code": "J4a"}, {"methodCode": "J4b"}]},
             external=("", "J4b", "success")),
        call("POST", LOCAL + "/m5", json={"method_code": [0]}, external=("", "[0]", "success")),
    ],
}

# Long plans are split so that each /call handler stays well under its 350 ms pad
# (the machine may be busy; ~10 calls take 50-200 ms).
for _name in ("partner_codes", "external_method_code", "external_tcode"):
    _calls = PLANS.pop(_name)
    PLANS[_name] = _calls[:10]
    PLANS[_name + "_2"] = _calls[10:]
