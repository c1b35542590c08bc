// Round-5 Go database drivers for capture.py: gor5 R5JSON
//
// lib/pq and go-sql-driver/mysql through database/sql, and pgx v4 natively,
// failing against the local servers named in R5JSON (built with
// GO111MODULE=off against Debian's /usr/share/gocode).  One JSON object per
// failure on stdout: source, key, message (err.Error(), what a Go program
// logs) and the code the driver exposes (SQLSTATE, MySQL error number).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
	"github.com/lib/pq"
)

type Case struct {
	Case     string   `json:"case"`
	Pre      []string `json:"pre"`
	SQL      string   `json:"sql"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	User     *string  `json:"user"`
	Password *string  `json:"password"`
	DB       string   `json:"db"`
	SSL      bool     `json:"ssl"`
}

type DB struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	DB       string `json:"db"`
	Cases    []Case `json:"cases"`
	Conn     []Case `json:"conn"`
}

type Cfg struct {
	PG     *DB    `json:"pg"`
	MY     *DB    `json:"my"`
	Closed int    `json:"closed"`
	Silent int    `json:"silent"`
	DNS    string `json:"dns"`
}

func emit(source, key string, err error, code interface{}) {
	o := map[string]interface{}{"source": source, "key": key, "message": err.Error()}
	if code != nil {
		o["code"] = code
	}
	b, _ := json.Marshal(o)
	fmt.Println(string(b))
}

func pick(c Case, d *DB) (string, int, string, string, string) {
	h, p, u, pw, db := d.Host, d.Port, d.User, d.Password, d.DB
	if c.Host != "" {
		h = c.Host
	}
	if c.Port != 0 {
		p = c.Port
	}
	if c.User != nil {
		u = *c.User
	}
	if c.Password != nil {
		pw = *c.Password
	}
	if c.DB != "" {
		db = c.DB
	}
	return h, p, u, pw, db
}

func pqDSN(c Case, d *DB) string {
	h, p, u, pw, db := pick(c, d)
	s := fmt.Sprintf("host=%s port=%d user=%s dbname=%s connect_timeout=2", h, p, u, db)
	if pw != "" {
		s += " password=" + pw
	}
	if c.SSL {
		s += " sslmode=require"
	} else {
		s += " sslmode=disable"
	}
	return s
}

func pqCode(err error) interface{} {
	var e *pq.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return nil
}

func pgxCode(err error) interface{} {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return nil
}

func myCode(err error) interface{} {
	var e *mysql.MySQLError
	if errors.As(err, &e) {
		return int(e.Number)
	}
	return nil
}

func sqlCase(driver, dsn string, c Case) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range c.Pre {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	q := c.SQL
	if q == "" {
		q = "SELECT 1"
	}
	_, err = conn.ExecContext(ctx, q)
	return err
}

// two transactions that update the same two rows in opposite orders
func deadlock(driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	a, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	b, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer a.Rollback()
	defer b.Rollback()
	a.Exec("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
	b.Exec("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := a.Exec("UPDATE r5_dl SET v = v + 1 WHERE id = 2"); err != nil {
			errs <- err
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := b.Exec("UPDATE r5_dl SET v = v + 1 WHERE id = 1"); err != nil {
		errs <- err
	}
	b.Rollback()
	wg.Wait()
	close(errs)
	for e := range errs {
		return e
	}
	return nil
}

func main() {
	raw, _ := os.ReadFile(os.Args[1])
	var cfg Cfg
	json.Unmarshal(raw, &cfg)
	if d := cfg.PG; d != nil {
		for _, c := range d.Cases {
			if err := sqlCase("postgres", pqDSN(Case{}, d), c); err != nil {
				emit("go-pq", "r5-pg-"+c.Case, err, pqCode(err))
			}
		}
		for _, c := range d.Conn {
			if err := sqlCase("postgres", pqDSN(c, d), Case{}); err != nil {
				emit("go-pq", "r5-pg-"+c.Case, err, pqCode(err))
			}
		}
		if err := deadlock("postgres", pqDSN(Case{}, d)); err != nil {
			emit("go-pq", "r5-pg-deadlock", err, pqCode(err))
		}
		// pgx v4, natively
		for _, c := range append(d.Cases, d.Conn...) {
			cc := Case{}
			if c.SQL == "" {
				cc = c
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := func() error {
				conn, err := pgx.Connect(ctx, pqDSN(cc, d))
				if err != nil {
					return err
				}
				defer conn.Close(context.Background())
				for _, s := range c.Pre {
					if _, err := conn.Exec(ctx, s); err != nil {
						return err
					}
				}
				q := c.SQL
				if q == "" {
					q = "SELECT 1"
				}
				_, err = conn.Exec(ctx, q)
				return err
			}()
			cancel()
			if err != nil {
				emit("go-pgx", "r5-pg-"+c.Case, err, pgxCode(err))
			}
		}
		ctx := context.Background()
		if a, err := pgx.Connect(ctx, pqDSN(Case{}, d)); err == nil {
			b, _ := pgx.Connect(ctx, pqDSN(Case{}, d))
			tx, _ := a.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
			tx.Exec(ctx, "SELECT * FROM r5_ser")
			b.Exec(ctx, "UPDATE r5_ser SET v = v + 1 WHERE id = 1")
			if _, err := tx.Exec(ctx, "UPDATE r5_ser SET v = v + 1 WHERE id = 1"); err != nil {
				emit("go-pgx", "r5-pg-serialization", err, pgxCode(err))
			}
			tx.Rollback(ctx)
			a.Close(ctx)
			b.Close(ctx)
		}
	}
	if d := cfg.MY; d != nil {
		dsn := func(c Case) string {
			h, p, u, pw, db := pick(c, d)
			return fmt.Sprintf("%s:%s@tcp(%s:%d)/%s?timeout=2s&readTimeout=5s", u, pw, h, p, db)
		}
		for _, c := range d.Cases {
			if err := sqlCase("mysql", dsn(Case{}), c); err != nil {
				emit("go-mysql", "r5-my-"+c.Case, err, myCode(err))
			}
		}
		for _, c := range d.Conn {
			if err := sqlCase("mysql", dsn(c), Case{SQL: c.SQL}); err != nil {
				emit("go-mysql", "r5-my-"+c.Case, err, myCode(err))
			}
		}
		if err := deadlock("mysql", dsn(Case{})); err != nil {
			emit("go-mysql", "r5-my-deadlock", err, myCode(err))
		}
	}
}
