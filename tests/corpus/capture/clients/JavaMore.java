// More Java failures for capture.py: java JavaMore.java TMPDIR HTTPBASE CLOSED SILENT TLSURL
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

public class JavaMore {
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
    static byte[] gz(boolean corrupt) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) { g.write("hello world ".repeat(200).getBytes()); }
        byte[] b = bo.toByteArray();
        if (corrupt) b[b.length - 6] ^= (byte) 0xff;
        return b;
    }
    static byte[] zipCorrupt() throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            ZipEntry e = new ZipEntry("a.txt");
            byte[] d = "hello world ".repeat(200).getBytes();
            e.setMethod(ZipEntry.STORED); e.setSize(d.length);
            CRC32 crc = new CRC32(); crc.update(d); e.setCrc(crc.getValue());
            z.putNextEntry(e); z.write(d); z.closeEntry();
        }
        byte[] b = bo.toByteArray();
        b[100] ^= (byte) 0xff;
        return b;
    }
    public static void main(String[] a) throws Exception {
        String tmp = a[0], base = a[1];
        Path f = Paths.get(tmp, "f.txt");
        Files.writeString(f, "hello\n");
        Path l1 = Paths.get(tmp, "loop1"), l2 = Paths.get(tmp, "loop2");
        try { Files.createSymbolicLink(l1, l2); Files.createSymbolicLink(l2, l1); } catch (IOException e) { }
        c("not-link", () -> Files.readSymbolicLink(f));
        c("not-directory", () -> Files.newDirectoryStream(f));
        c("symlink-loop", () -> Files.readString(l1));
        c("gzip-crc", () -> new GZIPInputStream(new ByteArrayInputStream(gz(true))).readAllBytes());
        c("zip-crc", () -> { ZipInputStream z = new ZipInputStream(new ByteArrayInputStream(zipCorrupt())); z.getNextEntry(); z.readAllBytes(); });
        c("base64", () -> Base64.getDecoder().decode("abc!"));
        c("uuid", () -> UUID.fromString("not-a-uuid"));
        c("local-date", () -> LocalDate.of(2024, 2, 30));
        c("zone-id", () -> ZoneId.of("Nowhere/Capture_City"));
        c("duration-parse", () -> Duration.parse("ten minutes"));
        c("bigint-divide", () -> java.math.BigInteger.ONE.divide(java.math.BigInteger.ZERO));
        c("add-exact", () -> Math.addExact(Integer.MAX_VALUE, a.length));
        c("capacity", () -> new ArrayList<Integer>(-a.length - 1));
        c("require-non-null", () -> Objects.requireNonNull(null, "customer id must not be null"));
        c("executor-shutdown", () -> { ExecutorService ex = Executors.newSingleThreadExecutor(); ex.shutdown(); ex.submit(() -> 1); });
        c("queue-full", () -> { ArrayBlockingQueue<Integer> q = new ArrayBlockingQueue<>(1); q.add(1); q.add(2); });
        c("https-plain-peer", () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base.replace("http:", "https:") + "/")).build(), HttpResponse.BodyHandlers.ofString()));
        for (int st : new int[] {400, 403, 429, 502}) {
            c("urlconn-" + st, () -> new URL(base + "/status/" + st).openStream());
        }
        c("certificate", () -> java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream("not a certificate".getBytes())));
        c("digest", () -> java.security.MessageDigest.getInstance("NOSUCH-DIGEST"));
        c("bad-padding", () -> { javax.crypto.Cipher ci = javax.crypto.Cipher.getInstance("AES/CBC/PKCS5Padding"); ci.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(new byte[16], "AES"), new javax.crypto.spec.IvParameterSpec(new byte[16])); ci.doFinal(new byte[32]); });
        c("format", () -> String.format("%d orders", "many"));
        c("no-driver", () -> java.sql.DriverManager.getConnection("jdbc:flcapture://127.0.0.1/x"));
        c("process-permission", () -> new ProcessBuilder(f.toString()).start());
        c("properties", () -> new Properties().load(new StringReader("key=\\uZZZZ")));
        c("stream-reuse", () -> { java.util.stream.Stream<Integer> s = java.util.stream.Stream.of(1); s.count(); s.count(); });
    }
}
