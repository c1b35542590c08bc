// Round-4 Go failures for capture.py: gor4 TMPDIR HTTPBASE CLOSED SILENT TLSURL R4JSON
// One JSON object per failure: key, message (err.Error()), errno name when
// the error wraps a syscall.Errno.
package main

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

var errnames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES", syscall.EPERM: "EPERM", syscall.EEXIST: "EEXIST",
	syscall.ENOTDIR: "ENOTDIR", syscall.EISDIR: "EISDIR", syscall.ENOTEMPTY: "ENOTEMPTY", syscall.ENOSPC: "ENOSPC",
	syscall.EROFS: "EROFS", syscall.ELOOP: "ELOOP", syscall.ETXTBSY: "ETXTBSY", syscall.E2BIG: "E2BIG",
	syscall.EMFILE: "EMFILE", syscall.EAGAIN: "EAGAIN", syscall.EINVAL: "EINVAL", syscall.ECONNREFUSED: "ECONNREFUSED",
	syscall.ECONNRESET: "ECONNRESET", syscall.EADDRINUSE: "EADDRINUSE", syscall.ESPIPE: "ESPIPE", syscall.EBADF: "EBADF",
	syscall.ENAMETOOLONG: "ENAMETOOLONG", syscall.ESRCH: "ESRCH", syscall.ECHILD: "ECHILD", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.ENETUNREACH: "ENETUNREACH", syscall.EPIPE: "EPIPE",
}

func out(key string, err error) {
	if err == nil {
		return
	}
	o := map[string]string{"key": key, "message": err.Error()}
	var en syscall.Errno
	if errors.As(err, &en) {
		if n, ok := errnames[en]; ok {
			o["errno"] = n
		}
	}
	b, _ := json.Marshal(o)
	fmt.Println(string(b))
}

type fixtures struct {
	CA            string            `json:"ca"`
	TLSExpired    int               `json:"tls_expired"`
	TLSWrongHost  int               `json:"tls_wronghost"`
	TLSClientCert int               `json:"tls_clientcert"`
	TLS13Only     int               `json:"tls_13only"`
	TLSOk         int               `json:"tls_ok"`
	SMTP          map[string]int    `json:"smtp"`
	Full          string            `json:"full"`
	RO            string            `json:"ro"`
	Extra         map[string]string `json:"-"`
}

func tlsGet(port int, pool *x509.CertPool, max uint16) error {
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: max}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		return err
	}
	_, err = io.ReadAll(c)
	return err
}

func main() {
	tmp, closed, silent := os.Args[1], os.Args[3], os.Args[4]
	var R4 fixtures
	json.Unmarshal([]byte(os.Args[6]), &R4)
	p := func(s ...string) string { return filepath.Join(append([]string{tmp}, s...)...) }
	os.WriteFile(p("f.txt"), []byte("hello\n"), 0o644)
	os.MkdirAll(p("d", "sub"), 0o755)
	os.Symlink(p("loop2"), p("loop1"))
	os.Symlink(p("loop1"), p("loop2"))

	// TLS against local openssl s_server instances
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(R4.CA); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	out("r4-tls-expired", tlsGet(R4.TLSExpired, pool, 0))
	out("r4-tls-hostname", tlsGet(R4.TLSWrongHost, pool, 0))
	out("r4-tls-client-cert", tlsGet(R4.TLSClientCert, pool, 0))
	out("r4-tls-version", tlsGet(R4.TLS13Only, pool, tls.VersionTLS12))
	out("r4-tls-untrusted-ca", tlsGet(R4.TLSOk, nil, 0))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	_, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/", R4.TLSExpired))
	out("r4-http-tls-expired", err)
	_, err = hc.Get(fmt.Sprintf("https://127.0.0.1:%d/", R4.TLSWrongHost))
	out("r4-http-tls-hostname", err)

	// SMTP against local responders
	for _, k := range []string{"421", "450", "452", "530", "535", "550", "552", "553"} {
		port, ok := R4.SMTP[k]
		if !ok {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var a smtp.Auth
		if k == "535" {
			c, err := smtp.Dial(addr)
			if err != nil {
				out("r4-smtp-"+k, err)
				continue
			}
			// PlainAuth refuses unencrypted non-localhost servers; use the connection directly
			a = smtp.PlainAuth("", "bob", "wrong", "127.0.0.1")
			out("r4-smtp-"+k, c.Auth(a))
			continue
		}
		out("r4-smtp-"+k, smtp.SendMail(addr, nil, "a@fl-capture.test", []string{"nobody@fl-capture.test"}, []byte("Subject: x\r\n\r\nhi\r\n")))
	}
	out("r4-smtp-refused", smtp.SendMail("127.0.0.1:"+closed, nil, "a@fl-capture.test", []string{"b@fl-capture.test"}, []byte("x")))

	// file systems prepared by round 4
	if R4.Full != "" {
		f, err := os.Create(filepath.Join(R4.Full, "go-big"))
		if err == nil {
			_, err = f.Write(make([]byte, 1<<20))
			f.Close()
		}
		out("r4-tmpfs-enospc", err)
	}
	if R4.RO != "" {
		out("r4-erofs-open", os.WriteFile(filepath.Join(R4.RO, "go.txt"), []byte("x"), 0o644))
		out("r4-erofs-mkdir", os.Mkdir(filepath.Join(R4.RO, "go-d"), 0o755))
	}
	_, err = os.ReadFile(p("loop1"))
	out("r4-eloop-open", err)
	busy := p("busy.sh")
	bf, _ := os.OpenFile(busy, os.O_CREATE|os.O_WRONLY, 0o755)
	bf.WriteString("#!/bin/sh\necho hi\n")
	out("r4-etxtbsy", exec.Command(busy).Run())
	bf.Close()
	out("r4-e2big", exec.Command("/bin/true", strings.Repeat("x", 200*1024)).Run())
	out("r4-exec-lookpath", exec.Command("fl-capture-no-such-tool").Run())
	cmd := exec.Command("/bin/true")
	cmd.Dir = p("nope")
	out("r4-exec-dir-missing", cmd.Run())
		lf, _ := os.Open(p("f.txt"))
	syscall.Flock(int(lf.Fd()), syscall.LOCK_EX)
	lf2, _ := os.Open(p("f.txt"))
	out("r4-flock-held", os.NewSyscallError("flock", syscall.Flock(int(lf2.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)))
	out("r4-rename-dir-into-sub", os.Rename(p("d"), p("d", "sub", "x")))
	out("r4-link-exists", os.Link(p("f.txt"), p("f.txt")))
	out("r4-chtimes-permission", os.Chtimes("/etc/hostname", time.Unix(0, 0), time.Unix(0, 0)))
	out("r4-remove-root-owned", os.Remove("/etc/hostname"))
	_, err = os.ReadDir(p("f.txt"))
	out("r4-readdir-file", err)
	pr, _, _ := os.Pipe()
	_, err = pr.Seek(10, 0)
	out("r4-seek-pipe", err)
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 20, Max: rl.Max})
	var held []*os.File
	for i := 0; i < 40; i++ {
		f, err := os.Open(p("f.txt"))
		if err != nil {
			out("r4-emfile", err)
			break
		}
		held = append(held, f)
	}
	for _, f := range held {
		f.Close()
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)

	// network
	_, err = net.Listen("tcp", "127.0.0.1:81")
	out("r4-listen-privileged", err)
	ul, _ := net.Listen("unix", p("u.sock"))
	ul.Close()
	_, err = net.Listen("unix", "/tmp/"+strings.Repeat("u", 200))
	out("r4-listen-unix-path-too-long", err)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:"+closed)
	}}
	_, err = r.LookupHost(context.Background(), "db.fl-capture.test")
	out("r4-resolver-refused", err)
	r2 := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:"+silent)
	}}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, err = r2.LookupHost(ctx2, "db.fl-capture.test")
	cancel2()
	out("r4-resolver-timeout", err)
	_, err = net.LookupPort("tcp", "fl-capture-nosuch")
	out("r4-lookup-port", err)

	// parsers and encoders
	_, err = netip.ParseAddr("10.0.0.256")
	out("r4-netip-parse", err)
	_, err = netip.ParsePrefix("10.0.0.0/33")
	out("r4-netip-prefix", err)
	_, err = mail.ParseAddress("not an address")
	out("r4-mail-address", err)
	_, _, err = mime.ParseMediaType("text/html; charset")
	out("r4-mime-media-type", err)
	_, err = net.ParseMAC("01:23:45:zz:89:ab")
	out("r4-parse-mac", err)
	_, err = asn1.Unmarshal([]byte{0x30, 0x05, 0x02}, new(struct{ A int }))
	out("r4-asn1", err)
	blk, _ := pem.Decode([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	if blk != nil {
		_, err = x509.ParseCertificate(blk.Bytes)
		out("r4-x509-truncated", err)
	}
	_, err = io.ReadAll(bzip2.NewReader(strings.NewReader("not bzip2 data")))
	out("r4-bzip2-garbage", err)
	_, err = io.ReadAll(flate.NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff})))
	out("r4-flate-corrupt", err)
	_, err = csv.NewReader(strings.NewReader("a,b\nc\n")).ReadAll()
	out("r4-csv-field-count", err)
	_, err = template.New("t").Parse("{{ .Name ")
	out("r4-template-parse", err)
	t := template.Must(template.New("t").Option("missingkey=error").Parse("{{ .Name }}"))
	out("r4-template-missing-key", t.Execute(io.Discard, map[string]string{}))
	t2 := template.Must(template.New("t").Parse("{{ .Name.Foo }}"))
	out("r4-template-exec", t2.Execute(io.Discard, struct{ Name string }{"x"}))
	out("r4-json-unmarshal-nonpointer", json.Unmarshal([]byte(`{}`), map[string]int{}))
	_, err = strconv.ParseUint("-5", 10, 64)
	out("r4-parseuint-negative", err)
	_, err = user.Lookup("fl_capture_nosuch")
	out("r4-user-lookup", err)
	_, err = user.LookupGroup("fl_capture_nosuch")
	out("r4-group-lookup", err)
	_, err = io.ReadFull(strings.NewReader("abc"), make([]byte, 10))
	out("r4-readfull-short", err)
}
