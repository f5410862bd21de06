// Jetty 9.4 (Debian's jetty9 jars) as a reverse proxy for make-reverse-proxy-fixture.sh, run as a
// source file (no build): java -cp '/usr/share/jetty9/lib/*' JettyProxy.java PORT BACKEND_URL.
// ProxyServlet.Transparent passes every request to the backend (its HttpClient pools and reuses
// the connections); GzipHandler compresses JSON answers for clients that accept gzip.
import org.eclipse.jetty.proxy.ProxyServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public class JettyProxy {
    public static void main(String[] args) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(Integer.parseInt(args[0]));
        connector.setIdleTimeout(2000);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        ServletHolder proxy = new ServletHolder(ProxyServlet.Transparent.class);
        proxy.setInitParameter("proxyTo", args[1]);
        context.addServlet(proxy, "/*");
        GzipHandler gzip = new GzipHandler();
        gzip.setMinGzipSize(256);
        gzip.addIncludedMimeTypes("application/json");
        gzip.setHandler(context);
        server.setHandler(gzip);
        server.start();
        server.join();
    }
}
