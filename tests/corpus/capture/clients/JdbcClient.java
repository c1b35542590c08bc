// JDBC client for capture.py: java -cp DRIVER JdbcClient.java pg|mysql CASES.json
// Prints one JSON object per failure: key, message (the exception's
// toString), code (SQLState for PostgreSQL, vendor code for MariaDB), and for
// every third case the stack trace.
import java.io.*;
import java.nio.file.*;
import java.sql.*;
import java.util.*;
import java.util.regex.*;

public class JdbcClient {
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
    // minimal reader for the flat case objects capture.py writes
    static String field(String obj, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": (\"((?:[^\"\\\\]|\\\\.)*)\"|(-?\\d+)|null)").matcher(obj);
        if (!m.find()) return null;
        if (m.group(2) != null) return m.group(2).replace("\\\"", "\"").replace("\\\\", "\\").replace("\\n", "\n");
        return m.group(3);
    }
    public static void main(String[] a) throws Exception {
        String drv = a[0];
        String text = new String(Files.readAllBytes(Paths.get(a[1])));
        String head = text.substring(0, text.indexOf("\"cases\""));
        String dh = field(head, "host"), dp = field(head, "port"), du = field(head, "user"), dd = field(head, "db");
        String body = text.substring(text.indexOf("\"cases\""));
        Matcher cm = Pattern.compile("\\{\"key\"(?:[^{}\"]|\"(?:[^\"\\\\]|\\\\.)*\")*\\}").matcher(body);
        int i = 0;
        DriverManager.setLoginTimeout(2);
        while (cm.find()) {
            String c = cm.group();
            String key = field(c, "key"), sql = field(c, "sql");
            String host = Optional.ofNullable(field(c, "host")).orElse(dh);
            String port = Optional.ofNullable(field(c, "port")).orElse(dp);
            String user = Optional.ofNullable(field(c, "user")).orElse(du);
            String db = Optional.ofNullable(field(c, "db")).orElse(dd);
            String pw = field(c, "password");
            String url;
            if (drv.equals("pg")) {
                url = host.startsWith("/") ? "jdbc:postgresql://localhost:" + port + "/" + db + "?socketFactory=x"
                                           : "jdbc:postgresql://" + host + ":" + port + "/" + db;
                if (host.startsWith("/")) url = "jdbc:postgresql://127.0.0.1:" + port + "/" + db;
                url += (url.contains("?") ? "&" : "?") + "connectTimeout=2&socketTimeout=10";
            } else {
                String h = host.startsWith("/") ? "127.0.0.1" : host;
                url = "jdbc:mariadb://" + h + ":" + port + "/" + db + "?connectTimeout=2000&socketTimeout=10000&allowMultiQueries=true";
            }
            Properties p = new Properties();
            p.setProperty("user", user);
            if (pw != null) p.setProperty("password", pw);
            try (Connection conn = DriverManager.getConnection(url, p); Statement st = conn.createStatement()) {
                if (drv.equals("pg")) st.execute(sql);
                else for (String s : sql.split(";\n")) st.execute(s);
            } catch (Throwable e) {
                String code = null;
                if (e instanceof SQLException) {
                    SQLException se = (SQLException) e;
                    code = drv.equals("pg") ? se.getSQLState() : String.valueOf(se.getErrorCode());
                }
                StringBuilder o = new StringBuilder("{\"key\": " + esc(key) + ", \"message\": " + esc(e.toString()));
                o.append(", \"code\": ").append(code == null ? "null" : esc(code));
                if (i % 3 == 0) {
                    StringWriter sw = new StringWriter();
                    e.printStackTrace(new PrintWriter(sw));
                    o.append(", \"trace\": ").append(esc("Exception in thread \"main\" " + sw.toString().trim()));
                }
                System.out.println(o.append("}"));
            }
            i++;
        }
    }
}
