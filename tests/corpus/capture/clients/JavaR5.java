// Round-5 Java: HikariCP pools over pgJDBC and MariaDB Connector/J, for capture.py:
//   java -cp HikariCP.jar:slf4j-api.jar:slf4j-nop.jar:postgresql.jar:mariadb-java-client.jar JavaR5.java R5JSON
// One JSON object per failure on stdout: source, key, message (toString():
// class and message), every other one with the printed stack trace (with its
// "Caused by" chain), and the SQLState / vendor code the exception carries.
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class JavaR5 {
    static int n = 0;

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n");
            else if (c == '\t') b.append("\\t");
            else if (c == '\r') b.append("\\r");
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static void emit(String source, String key, Throwable e, String pgOrMy) {
        StringBuilder o = new StringBuilder("{\"source\":" + q(source) + ",\"key\":" + q(key) + ",\"message\":" + q(e.toString()));
        if (n++ % 2 == 0) {
            StringWriter w = new StringWriter();
            e.printStackTrace(new PrintWriter(w));
            o.append(",\"trace\":").append(q(w.toString().stripTrailing()));
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                if (pgOrMy.equals("pg") && s.getSQLState() != null && s.getSQLState().matches("[0-9A-Z]{5}") && !s.getSQLState().startsWith("08")) {
                    o.append(",\"code\":").append(q(s.getSQLState()));
                    break;
                }
                if (pgOrMy.equals("my") && s.getErrorCode() > 0) {
                    o.append(",\"code\":").append(s.getErrorCode());
                    break;
                }
            }
        }
        System.out.println(o.append("}"));
    }

    // a tiny reader for the flat parts of R5JSON that this client needs
    static String str(String json, String obj, String field) {
        int i = json.indexOf("\"" + obj + "\": {");
        Matcher m = Pattern.compile("\"" + field + "\": (\"([^\"]*)\"|(\\d+))").matcher(json);
        if (i < 0 || !m.find(i)) return null;
        return m.group(2) != null ? m.group(2) : m.group(3);
    }

    static List<String[]> cases(String json, String obj) {
        List<String[]> out = new ArrayList<>();
        int i = json.indexOf("\"" + obj + "\": {");
        int j = json.indexOf("\"cases\": [", i);
        int k = json.indexOf("\"conn\": [", j);
        Matcher m = Pattern.compile("\\{\"case\": \"([^\"]+)\", \"pre\": \\[(.*?)\\], \"sql\": \"((?:[^\"\\\\]|\\\\.)*)\"\\}").matcher(json.substring(j, k));
        while (m.find()) {
            List<String> pre = new ArrayList<>();
            Matcher p = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(m.group(2));
            while (p.find()) pre.add(p.group(1).replace("\\\"", "\""));
            out.add(new String[] {m.group(1), String.join("\u0001", pre), m.group(3).replace("\\\"", "\"")});
        }
        return out;
    }

    static HikariDataSource pool(String url, String user, String pw, int size, long timeoutMs) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        c.setUsername(user);
        c.setPassword(pw);
        c.setMaximumPoolSize(size);
        c.setConnectionTimeout(timeoutMs);
        c.setInitializationFailTimeout(1);
        return new HikariDataSource(c);
    }

    public static void main(String[] a) throws Exception {
        String json = Files.readString(Path.of(a[0]));
        String closed = Pattern.compile("\"closed\": (\\d+)").matcher(json).results().findFirst().get().group(1);
        String silent = Pattern.compile("\"silent\": (\\d+)").matcher(json).results().findFirst().get().group(1);
        Matcher dm = Pattern.compile("\"dns\": \"([^\"]+)\"").matcher(json);
        String dns = dm.find() ? dm.group(1) : "r5.fl-capture.invalid";
        for (String fam : new String[] {"pg", "my"}) {
            String port = str(json, fam, "port");
            if (port == null) continue;
            String user = str(json, fam, "user"), pw = str(json, fam, "password"), db = str(json, fam, "db");
            String scheme = fam.equals("pg") ? "jdbc:postgresql" : "jdbc:mariadb";
            String url = scheme + "://127.0.0.1:" + port + "/" + db;
            String src = fam.equals("pg") ? "hikaricp-pgjdbc" : "hikaricp-mariadb";
            try (HikariDataSource ds = pool(url, user, pw, 2, 3000)) {
                for (String[] c : cases(json, fam)) {
                    try (Connection conn = ds.getConnection(); Statement st = conn.createStatement()) {
                        if (!c[1].isEmpty()) for (String s : c[1].split("\u0001")) st.execute(s);
                        st.execute(c[2]);
                    } catch (Exception e) {
                        emit(src, "r5-" + fam + "-" + c[0], e, fam);
                    }
                    // session settings (SET ROLE, sql_mode, timeouts) must not leak into the next case
                    ds.getHikariPoolMXBean().softEvictConnections();
                }
            }
            // pool exhaustion: one connection, held, and a second caller that waits 250 ms
            try (HikariDataSource ds = pool(url, user, pw, 1, 250); Connection held = ds.getConnection()) {
                try (Connection c2 = ds.getConnection()) {
                } catch (Exception e) {
                    emit(src, "r5-" + fam + "-pool-timeout", e, fam);
                }
            }
            // pool start-up against servers that refuse, reject or do not answer
            String[][] conn = {
                {"refused", scheme + "://127.0.0.1:" + closed + "/" + db, user, pw},
                {"timeout", scheme + "://127.0.0.1:" + silent + "/" + db + (fam.equals("pg") ? "?connectTimeout=2&socketTimeout=2&loginTimeout=2" : "?connectTimeout=2000&socketTimeout=2000"), user, pw},
                {"dns", scheme + "://" + dns + ":" + port + "/" + db, user, pw},
                {"bad-password", url, "alice", "wrong"},
                {"no-database", scheme + "://127.0.0.1:" + port + "/r5_nodb", user, pw},
            };
            for (String[] c : conn) {
                try (HikariDataSource ds = pool(c[1], c[2], c[3], 1, 2500)) {
                    ds.getConnection().close();
                } catch (Throwable e) {
                    emit(src, "r5-" + fam + "-" + c[0], e, fam);
                }
            }
        }
    }
}
