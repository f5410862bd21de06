// java.net.http.HttpClient (Debian's default-jdk-headless) for make-stack-fixtures.sh --debian;
// logs one JSON line per exchange it completed ({"method","url","status"}) to LOG.
//     java StackClient.java BASE LOG [1.1]
// Without `1.1` the client is left at its default version, HTTP/2: on cleartext it asks for an
// upgrade on every request (`Connection: Upgrade, HTTP2-Settings`, `Upgrade: h2c`); Apache and
// HAProxy decline by answering in HTTP/1.1, lighttpd accepts (101, then HTTP/2 on the connection:
// the answer to the first request comes on HTTP/2 stream 1). With `1.1`, HTTP/1.1 only. A body of unknown length (ofInputStream) goes
// chunked; `expectContinue(true)` sends `Expect: 100-continue` and waits for the 100 as long as
// the request's timeout (3 s) allows: a server that never sends one (WEBrick) gets no body, the
// client gives up and closes, and the request has no response.
import java.io.ByteArrayInputStream;
import java.io.FileWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class StackClient {
    static String base;
    static String logPath;
    static HttpClient client;
    static final String ECHO = "{\"method_code\":\"PAY01\",\"orderId\":\"ORD000000012345\",\"amount\":12800}";

    static void send(HttpRequest.Builder b, String method, String path) throws Exception {
        HttpRequest req = b.uri(URI.create(base + path)).header("User-Agent", "mall-app/5.1.0 (java)")
            .timeout(Duration.ofSeconds(3)).build();
        HttpResponse<byte[]> r;
        try {
            r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {  // not logged: the client got no response
            System.err.println("java: " + method + " " + path + ": " + e);
            return;
        }
        try (FileWriter w = new FileWriter(logPath, true)) {
            w.write("{\"method\":\"" + method + "\",\"url\":\"" + base + path + "\",\"status\":" + r.statusCode() + "}\n");
        }
    }

    static void get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder().GET();
        if (headers.length > 0) b.headers(headers);
        send(b, "GET", path);
    }

    public static void main(String[] args) throws Exception {
        base = args[0].replaceAll("/$", "");
        logPath = args[1];
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (args.length > 2 && args[2].equals("1.1")) builder.version(HttpClient.Version.HTTP_1_1);
        client = builder.build();
        for (int i = 0; i < 5; i++) get("/api/order?java=" + i);
        get("/api/stream?java=1&n=3");
        send(HttpRequest.newBuilder().method("HEAD", HttpRequest.BodyPublishers.noBody()), "HEAD", "/api/order?java=head");
        get("/api/etag?java=1", "If-None-Match", "\"v1\"");
        get("/api/nocontent?java=1");
        send(HttpRequest.newBuilder().header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(ECHO)), "POST", "/api/echo?java=1");
        byte[] body = ECHO.getBytes("UTF-8");
        send(HttpRequest.newBuilder().header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))), "POST", "/api/echo?java=chunked");
        send(HttpRequest.newBuilder().header("Content-Type", "application/json").expectContinue(true)
            .POST(HttpRequest.BodyPublishers.ofString(ECHO)), "POST", "/api/echo?java=expect");
        get("/api/gzip?java=1", "Accept-Encoding", "gzip");
        get("/api/fail?java=1");
    }
}
