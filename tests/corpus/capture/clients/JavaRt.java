// Java runtime failures for capture.py: java JavaRt.java TMPDIR HTTPBASE CLOSED SILENT TLSURL
import java.io.*;
import java.net.*;
import java.net.http.*;
import java.nio.charset.*;
import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.regex.*;
import java.util.zip.*;

public class JavaRt {
    static int n = 0;
    static String esc(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') b.append('\\').append(ch);
            else if (ch == '\n') b.append("\\n");
            else if (ch == '\r') b.append("\\r");
            else if (ch == '\t') b.append("\\t");
            else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
            else b.append(ch);
        }
        return b.append('"').toString();
    }
    interface Body { void run() throws Throwable; }
    static void c(String key, Body b) {
        try { b.run(); } catch (Throwable e) {
            StringBuilder o = new StringBuilder("{\"key\": " + esc(key) + ", \"message\": " + esc(e.toString()));
            if (n++ % 2 == 0) {
                StringWriter sw = new StringWriter();
                e.printStackTrace(new PrintWriter(sw));
                String t = sw.toString();
                if (t.length() > 6000) t = t.substring(0, 6000);
                o.append(", \"trace\": ").append(esc("Exception in thread \"main\" " + t.trim()));
            }
            System.out.println(o.append("}"));
        }
    }
    static int rec(int x) { return rec(x + 1) + 1; }
    public static void main(String[] a) throws Exception {
        String tmp = a[0], base = a[1], closed = a[2], silent = a[3], tls = a[4];
        HttpClient hc = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        c("npe", () -> { String s = null; s.length(); });
        c("aioobe", () -> { int[] x = new int[3]; int i = x.length + 2; System.out.println(x[i]); });
        c("sioobe", () -> "abc".substring(5));
        c("nfe", () -> Integer.parseInt("12a"));
        c("nfe-range", () -> Integer.parseInt("99999999999"));
        c("arith", () -> { int z = a.length - a.length; System.out.println(1 / z); });
        c("cce", () -> { Object o = "s"; Integer i = (Integer) o; });
        c("iae", () -> { throw new IllegalArgumentException("timeout must be positive"); });
        c("ise", () -> new ArrayList<Integer>().iterator().remove());
        c("uoe", () -> List.of(1).add(2));
        c("nsee", () -> Optional.empty().get());
        c("cme", () -> { List<Integer> l = new ArrayList<>(List.of(1, 2, 3)); for (Integer i : l) l.remove(i); });
        c("so", () -> rec(0));
        c("oom", () -> { long[] x = new long[Integer.MAX_VALUE]; });
        c("nase", () -> { int k = -1 + a.length - a.length; int[] x = new int[k]; });
        c("fnf", () -> new FileInputStream(tmp + "/missing.txt"));
        c("nsfe", () -> Files.readAllBytes(Paths.get(tmp, "missing.txt")));
        c("ade", () -> Files.readAllBytes(Paths.get("/etc/shadow")));
        c("fae", () -> Files.createDirectory(Paths.get(tmp)));
        c("dne", () -> Files.delete(Paths.get(tmp, "full")));
        c("isdir", () -> new FileInputStream(tmp).read());
        c("nospace", () -> { try (FileOutputStream f = new FileOutputStream("/dev/full")) { f.write(1); f.flush(); f.getFD().sync(); } });
        c("connect-refused", () -> new Socket("127.0.0.1", Integer.parseInt(closed)));
        c("unknown-host", () -> new Socket("api.fl-capture.invalid", 443));
        c("socket-timeout", () -> { Socket s = new Socket("127.0.0.1", Integer.parseInt(silent)); s.setSoTimeout(200); s.getInputStream().read(); });
        c("connect-timeout", () -> { Socket s = new Socket(); s.connect(new InetSocketAddress("10.255.255.1", 80), 1); });
        c("http-refused", () -> hc.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + closed + "/")).build(), HttpResponse.BodyHandlers.ofString()));
        c("http-timeout", () -> hc.send(HttpRequest.newBuilder(URI.create(base + "/sleep")).timeout(Duration.ofMillis(200)).build(), HttpResponse.BodyHandlers.ofString()));
        c("http-tls", () -> hc.send(HttpRequest.newBuilder(URI.create(tls)).build(), HttpResponse.BodyHandlers.ofString()));
        c("http-dns", () -> hc.send(HttpRequest.newBuilder(URI.create("http://api.fl-capture.invalid/")).build(), HttpResponse.BodyHandlers.ofString()));
        c("http-eof", () -> hc.send(HttpRequest.newBuilder(URI.create(base + "/empty")).build(), HttpResponse.BodyHandlers.ofString()));
        c("urlconn-404", () -> new URL(base + "/status/404").openStream());
        c("urlconn-500", () -> new URL(base + "/status/500").openStream());
        c("urlconn-503", () -> new URL(base + "/status/503").openStream());
        c("urlconn-401", () -> new URL(base + "/status/401").openStream());
        c("urlconn-tls", () -> new URL(tls).openStream());
        c("malformed-url", () -> new URL("htp:/nowhere"));
        c("uri-syntax", () -> new URI("http://bad host/"));
        c("zip-bad", () -> new ZipFile(Files.write(Paths.get(tmp, "bad.zip"), "not a zip file".getBytes()).toFile()));
        c("gzip-bad", () -> new GZIPInputStream(new ByteArrayInputStream("not gzip".getBytes())));
        c("gzip-truncated", () -> {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(bo)) { g.write("hello world hello world hello".repeat(50).getBytes()); }
            byte[] t = Arrays.copyOf(bo.toByteArray(), 30);
            new GZIPInputStream(new ByteArrayInputStream(t)).readAllBytes();
        });
        c("inflater", () -> { Inflater i = new Inflater(); i.setInput("garbage!".getBytes()); i.inflate(new byte[10]); });
        c("eof", () -> new DataInputStream(new ByteArrayInputStream(new byte[2])).readInt());
        c("malformed-input", () -> Files.readAllLines(Files.write(Paths.get(tmp, "latin1.txt"), new byte[]{(byte) 0xff, (byte) 0xfe, 0x41})));
        c("charset", () -> Charset.forName("no-such-charset"));
        c("date-parse", () -> LocalDate.parse("yesterday"));
        c("date-range", () -> LocalDate.of(2024, 13, 1));
        c("pattern", () -> Pattern.compile("("));
        c("class-not-found", () -> Class.forName("com.example.Missing"));
        c("future-timeout", () -> Executors.newSingleThreadExecutor(r -> { Thread t = new Thread(r); t.setDaemon(true); return t; }).submit(() -> { Thread.sleep(2000); return 1; }).get(50, TimeUnit.MILLISECONDS));
        c("interrupted", () -> { Thread.currentThread().interrupt(); Thread.sleep(100); });
        c("cancellation", () -> { Future<?> f = Executors.newSingleThreadExecutor(r -> { Thread t = new Thread(r); t.setDaemon(true); return t; }).submit(() -> { Thread.sleep(2000); return 1; }); f.cancel(true); f.get(); });
        c("execution", () -> Executors.newSingleThreadExecutor(r -> { Thread t = new Thread(r); t.setDaemon(true); return t; }).submit(() -> { throw new IOException("Connection reset by peer"); }).get());
        c("bind", () -> { ServerSocket s = new ServerSocket(0); new ServerSocket(s.getLocalPort()); });
        c("process", () -> new ProcessBuilder("fl-capture-no-such-binary").start());
        c("assertion", () -> { throw new AssertionError("balance must not be negative"); });
        c("unsupported-encoding", () -> "x".getBytes("no-such-encoding"));
        c("input-mismatch", () -> new Scanner("abc").nextInt());
        c("number-format-decimal", () -> new java.math.BigDecimal("1,5"));
        c("arraystore", () -> { Object[] o = new String[1]; o[0] = 1; });
    }
}
