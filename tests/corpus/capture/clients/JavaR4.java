// Round-4 Java failures for capture.py:
// java JavaR4.java TMPDIR HTTPBASE CLOSED SILENT CAFILE EXPIRED WRONGHOST CLIENTCERT TLS13ONLY OK FULLDIR RODIR STATUSES
import java.io.*;
import java.math.BigDecimal;
import java.net.*;
import java.net.http.*;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.*;
import java.nio.charset.*;
import java.nio.file.*;
import java.nio.file.attribute.FileTime;
import java.security.*;
import java.security.cert.*;
import java.time.*;
import java.time.format.DateTimeFormatter;
import java.util.*;
import java.util.concurrent.*;
import java.util.regex.*;
import javax.crypto.*;
import javax.crypto.spec.*;
import javax.net.ssl.*;

public class JavaR4 {
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
    static SSLContext trusting(String caFile) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = new FileInputStream(caFile)) {
            ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
    static void tls(SSLContext ctx, int port, String proto) throws Exception {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", port)) {
            s.setSoTimeout(5000);
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (proto != null) p.setProtocols(new String[] {proto});
            s.setSSLParameters(p);
            s.startHandshake();
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes());
            s.getOutputStream().flush();
            s.getInputStream().readAllBytes();
        }
    }
    static void status(String url) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        c.getInputStream().readAllBytes();
    }
    public static void main(String[] a) throws Exception {
        String tmp = a[0], base = a[1], closed = a[2], silent = a[3], ca = a[4];
        int expired = Integer.parseInt(a[5]), wronghost = Integer.parseInt(a[6]), clientcert = Integer.parseInt(a[7]);
        int only13 = Integer.parseInt(a[8]), ok = Integer.parseInt(a[9]);
        String full = a[10], ro = a[11];
        Path f = Paths.get(tmp, "f.txt");
        Files.writeString(f, "hello\n");
        Files.createDirectories(Paths.get(tmp, "d", "sub"));
        for (String st : a[12].split(",")) c("r4-urlconn-" + st, () -> status(base + "/status/" + st));
        SSLContext ctx = trusting(ca);
        c("r4-tls-expired", () -> tls(ctx, expired, null));
        c("r4-tls-hostname", () -> tls(ctx, wronghost, null));
        c("r4-tls-client-cert", () -> tls(ctx, clientcert, null));
        c("r4-tls-version", () -> tls(ctx, only13, "TLSv1.2"));
        c("r4-tls-untrusted-ca", () -> tls(SSLContext.getDefault(), ok, null));
        c("r4-httpclient-tls-expired", () -> HttpClient.newBuilder().sslContext(ctx).build()
            .send(HttpRequest.newBuilder(URI.create("https://localhost:" + expired + "/")).build(), HttpResponse.BodyHandlers.discarding()));
        // file systems prepared by round 4, processes
        if (!full.equals("-")) c("r4-tmpfs-enospc", () -> Files.write(Paths.get(full, "java-big"), new byte[1 << 20]));
        if (!ro.equals("-")) {
            c("r4-erofs-open", () -> Files.writeString(Paths.get(ro, "java.txt"), "x"));
            c("r4-erofs-mkdir", () -> Files.createDirectory(Paths.get(ro, "java-d")));
        }
        if (!full.equals("-")) {
            Path small = Paths.get(tmp, "small.txt");
            Files.writeString(small, "x");
            c("r4-atomic-move-xdev", () -> Files.move(small, Paths.get(full, "moved.txt"), StandardCopyOption.ATOMIC_MOVE));
        }
        Path busy = Paths.get(tmp, "busy.sh");
        try (FileOutputStream w = new FileOutputStream(busy.toFile())) {
            w.write("#!/bin/sh\necho hi\n".getBytes());
            w.flush();
            busy.toFile().setExecutable(true);
            c("r4-etxtbsy", () -> new ProcessBuilder(busy.toString()).start().waitFor());
        }
        c("r4-e2big", () -> new ProcessBuilder("/bin/true", "x".repeat(200 * 1024)).start().waitFor());
        c("r4-process-dir-missing", () -> new ProcessBuilder("/bin/true").directory(new File(tmp, "nope")).start().waitFor());
        c("r4-set-mtime-permission", () -> Files.setLastModifiedTime(Paths.get("/etc/hostname"), FileTime.fromMillis(0)));
        c("r4-overlapping-lock", () -> {
            FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE);
            ch.lock();
            FileChannel.open(f, StandardOpenOption.WRITE).lock();
        });
        c("r4-non-writable-channel", () -> FileChannel.open(f, StandardOpenOption.READ).write(ByteBuffer.wrap(new byte[] {1})));
        c("r4-closed-channel", () -> { FileChannel ch = FileChannel.open(f); ch.close(); ch.read(ByteBuffer.allocate(1)); });
        // network
        c("r4-bind-privileged", () -> new ServerSocket(81, 1, InetAddress.getByName("127.0.0.1")));
        c("r4-async-channel-refused", () -> AsynchronousSocketChannel.open().connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(closed))).get(5, TimeUnit.SECONDS));
        c("r4-datagram-port-unreachable", () -> {
            DatagramChannel dc = DatagramChannel.open();
            dc.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(closed)));
            dc.write(ByteBuffer.wrap(new byte[] {1}));
            Thread.sleep(200);
            dc.read(ByteBuffer.allocate(10));
        });
        c("r4-unix-socket-missing", () -> SocketChannel.open(UnixDomainSocketAddress.of(Paths.get(tmp, "nope.sock"))));
        // java.time, math, text
        c("r4-instant-overflow", () -> Instant.MAX.plusSeconds(1));
        c("r4-zone-offset-range", () -> ZoneOffset.of("+25:00"));
        c("r4-formatter-pattern", () -> DateTimeFormatter.ofPattern("yyyy-MM-dd QQQQQQ"));
        c("r4-bigdecimal-nonterminating", () -> BigDecimal.ONE.divide(new BigDecimal("3")));
        c("r4-biginteger-negative-exponent", () -> java.math.BigInteger.TWO.pow(-1));
        c("r4-matcher-no-match", () -> { Matcher m = Pattern.compile("x+").matcher("abc"); m.group(); });
        c("r4-unmappable-char", () -> StandardCharsets.US_ASCII.newEncoder().encode(CharBuffer.wrap("caf\u00e9")));
        // crypto, key stores, XML
        c("r4-cipher-unknown", () -> Cipher.getInstance("NOPE/NONE/NoPadding"));
        c("r4-gcm-tag-mismatch", () -> {
            SecretKey k = new SecretKeySpec(new byte[16], "AES");
            Cipher e = Cipher.getInstance("AES/GCM/NoPadding");
            e.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(128, new byte[12]));
            byte[] ct = e.doFinal("secret".getBytes());
            ct[0] ^= 1;
            Cipher d = Cipher.getInstance("AES/GCM/NoPadding");
            d.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(128, new byte[12]));
            d.doFinal(ct);
        });
        c("r4-keyspec-garbage", () -> KeyFactory.getInstance("RSA").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(new byte[] {1, 2, 3})));
        c("r4-xml-unclosed", () -> javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream("<a><b></a>".getBytes())));
        c("r4-xpath-syntax", () -> javax.xml.xpath.XPathFactory.newInstance().newXPath().compile("//a[@"));
        c("r4-jar-garbage", () -> { Files.writeString(Paths.get(tmp, "g.jar"), "not a jar"); new java.util.jar.JarFile(Paths.get(tmp, "g.jar").toFile()); });
    }
}
