// More Go failures for capture.py: gomore TMPDIR HTTPBASE CLOSED SILENT TLSURL
// One JSON object per failure: key and message (err.Error()).
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func out(key string, err error) {
	if err == nil {
		return
	}
	b, _ := json.Marshal(map[string]string{"key": key, "message": err.Error()})
	fmt.Println(string(b))
}

func gzipCRC() error {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(strings.Repeat("hello world ", 200)))
	w.Close()
	b := buf.Bytes()
	b[len(b)-6] ^= 0xff
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	_, err = io.ReadAll(r)
	return err
}

func zipCRC() error {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.CreateHeader(&zip.FileHeader{Name: "a.txt", Method: zip.Store})
	f.Write([]byte(strings.Repeat("hello world ", 200)))
	w.Close()
	b := buf.Bytes()
	b[100] ^= 0xff
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	rc, err := r.File[0].Open()
	if err != nil {
		return err
	}
	_, err = io.ReadAll(rc)
	return err
}

func main() {
	tmp, base, closed := os.Args[1], os.Args[2], os.Args[3]
	hport := strings.TrimPrefix(base, "http://127.0.0.1:")
	f := filepath.Join(tmp, "f.txt")
	os.WriteFile(f, []byte("hello\n"), 0o644)
	out("chdir-missing", os.Chdir(filepath.Join(tmp, "nope")))
	_, err := os.Readlink(f)
	out("readlink-regular", err)
	out("rename-xdev", os.Rename("/proc/version", filepath.Join(tmp, "v")))
	out("chmod-permission", os.Chmod("/etc/hostname", 0o777))
	out("truncate-dir", os.Truncate(tmp, 0))
	_, err = net.Listen("tcp", "127.0.0.1:99999")
	out("listen-bad-port", err)
	_, _, err = net.ParseCIDR("10.0.0.1/33")
	out("parse-cidr", err)
	_, err = net.Dial("unix", filepath.Join(tmp, "nope.sock"))
	out("dial-unix-missing", err)
	_, err = net.Dial("tcp", "127.0.0.1")
	out("dial-missing-port", err)
	_, err = net.Dial("tcpx", "127.0.0.1:1")
	out("dial-unknown-network", err)
	_, err = http.Get(base + "/loop")
	out("http-redirect-loop", err)
	_, err = http.Get("https://127.0.0.1:" + hport + "/")
	out("https-plain-peer", err)
	_, err = json.Marshal(map[string]interface{}{"c": make(chan int)})
	out("json-unsupported-type", err)
	dec := json.NewDecoder(strings.NewReader(`{"id": 1, "colour": "red"}`))
	dec.DisallowUnknownFields()
	var v struct{ ID int }
	out("json-unknown-field", dec.Decode(&v))
	var x struct{ A string }
	out("xml-syntax", xml.Unmarshal([]byte("<a><b></a>"), &x))
	_, err = csv.NewReader(strings.NewReader("a,\"b\nc")).ReadAll()
	out("csv-quote", err)
	_, err = time.LoadLocation("Nowhere/Capture_City")
	out("load-location", err)
	_, err = strconv.Unquote(`"abc`)
	out("unquote", err)
	out("gzip-crc", gzipCRC())
	_, err = zlib.NewReader(strings.NewReader("this is not zlib data"))
	out("zlib-header", err)
	_, err = tar.NewReader(strings.NewReader(strings.Repeat("this is not a tar header ", 40))).Next()
	out("tar-header", err)
	out("zip-crc", zipCRC())
	_, err = x509.ParseCertificate([]byte("this is not a certificate"))
	out("x509-parse", err)
	_, err = tls.X509KeyPair([]byte("not pem"), []byte("not pem"))
	out("tls-keypair", err)
	out("exec-permission", exec.Command(f).Run())
	_, err = filepath.Match("[", "x")
	out("glob-pattern", err)
	_, err = os.ReadFile("/proc/self/mem")
	out("read-eio", err)
	_, err = url.ParseQuery("a=%zz")
	out("query-escape", err)
	_, err = tls.Dial("tcp", "127.0.0.1:"+hport, &tls.Config{InsecureSkipVerify: true})
	out("tls-dial-plain", err)
	_, err = net.DialTimeout("tcp", "127.0.0.1:"+closed, time.Second)
	_ = err
}
