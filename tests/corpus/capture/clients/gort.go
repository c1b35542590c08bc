// Go runtime failures for capture.py: go run gort.go TMPDIR HTTPBASE CLOSED SILENT TLSURL
// With a first argument "panic:NAME" it panics the way NAME says (the caller
// records the runtime's crash output).
package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

func out(key string, err error) {
	if err == nil {
		return
	}
	b, _ := json.Marshal(map[string]string{"key": key, "message": err.Error()})
	fmt.Println(string(b))
}

func rec(n int) int { return rec(n+1) + 1 }

func panics(name string) {
	switch name {
	case "nil-map":
		var m map[string]int
		m["a"] = 1
	case "index":
		s := []int{1, 2, 3}
		i := len(os.Args) + 5
		fmt.Println(s[i])
	case "nil-pointer":
		var p *struct{ X int }
		fmt.Println(p.X)
	case "divide":
		z := len(os.Args) - len(os.Args)
		fmt.Println(1 / z)
	case "deadlock":
		ch := make(chan int)
		ch <- 1
	case "wg-deadlock":
		var wg sync.WaitGroup
		wg.Add(1)
		wg.Wait()
	case "stack":
		fmt.Println(rec(0))
	case "custom":
		panic(errors.New("invariant violated: ledger out of balance"))
	case "type-assert":
		var i interface{} = "s"
		fmt.Println(i.(int))
	case "closed-channel":
		ch := make(chan int)
		close(ch)
		close(ch)
	case "makeslice":
		n := -1 + len(os.Args) - len(os.Args)
		_ = make([]byte, n)
	}
}

func main() {
	if strings.HasPrefix(os.Args[1], "panic:") {
		panics(strings.TrimPrefix(os.Args[1], "panic:"))
		return
	}
	tmp, base, closed, silent, tlsurl := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	_, err := strconv.Atoi("12a")
	out("atoi", err)
	_, err = strconv.ParseInt("99999999999999999999", 10, 64)
	out("parseint-range", err)
	_, err = strconv.ParseFloat("abc", 64)
	out("parsefloat", err)
	_, err = strconv.ParseBool("maybe")
	out("parsebool", err)
	_, err = os.Open(filepath.Join(tmp, "missing.txt"))
	out("open-missing", err)
	_, err = os.ReadFile(tmp)
	out("read-dir", err)
	_, err = os.ReadFile("/etc/shadow")
	out("permission", err)
	err = os.WriteFile("/etc/fl-capture.conf", []byte("x"), 0o644)
	out("permission-write", err)
	err = os.Mkdir(tmp, 0o755)
	out("mkdir-exists", err)
	err = os.Remove(filepath.Join(tmp, "full"))
	out("remove-nonempty", err)
	err = os.WriteFile("/dev/full", []byte("x"), 0o644)
	out("no-space", err)
	_, err = net.Dial("tcp", "127.0.0.1:"+closed)
	out("dial-refused", err)
	_, err = net.Dial("tcp", "api.fl-capture.invalid:443")
	out("dial-dns", err)
	_, err = net.DialTimeout("tcp", "10.255.255.1:80", 1*time.Nanosecond)
	out("dial-timeout", err)
	c := &http.Client{Timeout: 200 * time.Millisecond}
	_, err = c.Get(base + "/sleep")
	out("http-client-timeout", err)
	_, err = http.Get("http://127.0.0.1:" + closed + "/")
	out("http-refused", err)
	_, err = http.Get("http://api.fl-capture.invalid/")
	out("http-dns", err)
	_, err = http.Get(tlsurl)
	out("http-tls", err)
	_, err = http.Get(base + "/empty")
	out("http-eof", err)
	_, err = http.Get(base + "/reset")
	out("http-reset", err)
	r, err := http.Get(base + "/truncated")
	if err == nil {
		_, err = io.ReadAll(r.Body)
		out("http-truncated", err)
	}
	_, err = http.Get("ht tp://bad")
	out("http-bad-url", err)
	_, err = http.NewRequest("BAD METHOD", base, nil)
	out("http-bad-method", err)
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "other.example"}}}
	_, err = tc.Get(tlsurl)
	out("http-tls-name", err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sleep", nil)
	_, err = http.DefaultClient.Do(req)
	out("http-ctx-deadline", err)
	cancel()
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/sleep", nil)
	_, err = http.DefaultClient.Do(req)
	out("http-ctx-cancel", err)
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	<-ctx.Done()
	out("ctx-deadline", ctx.Err())
	cancel()
	conn, err := net.Dial("tcp", "127.0.0.1:"+silent)
	if err == nil {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = conn.Read(make([]byte, 1))
		out("read-timeout", err)
	}
	var v map[string]int
	out("json-syntax", json.Unmarshal([]byte("{x"), &v))
	out("json-eof", json.Unmarshal([]byte(`{"a": 1`), &v))
	out("json-type", json.Unmarshal([]byte(`{"a": "s"}`), &v))
	_, err = url.Parse(":foo")
	out("url-parse", err)
	_, err = url.Parse("http://[::1")
	out("url-ipv6", err)
	_, err = regexp.Compile("(")
	out("regexp", err)
	_, err = time.Parse("2006-01-02", "yesterday")
	out("time-parse", err)
	_, err = time.Parse("2006-01-02", "2024-13-01")
	out("time-range", err)
	_, err = time.ParseDuration("5 parsecs")
	out("duration", err)
	_, err = gzip.NewReader(bytes.NewReader([]byte("plain text, not gzip")))
	out("gzip-header", err)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(bytes.Repeat([]byte("hello world"), 100))
	w.Close()
	gr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:30]))
	if err == nil {
		_, err = io.ReadAll(gr)
		out("gzip-truncated", err)
	}
	_, err = zip.NewReader(bytes.NewReader([]byte("not a zip")), 9)
	out("zip-bad", err)
	_, err = base64.StdEncoding.DecodeString("ab!c")
	out("base64", err)
	_, err = hex.DecodeString("zz")
	out("hex", err)
	_, err = exec.LookPath("fl-capture-no-such-binary")
	out("exec-missing", err)
	out("exec-exit", exec.Command("false").Run())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_, err = net.Listen("tcp", ln.Addr().String())
	out("listen-in-use", err)
	_, err = os.ReadFile(filepath.Join(tmp, strings.Repeat("n", 300)))
	out("name-too-long", err)
	p, _ := os.FindProcess(4194000)
	out("signal-missing", p.Signal(os.Interrupt))
}
