/* timefmt.c -- stub, being written. */
typedef int fl_stub_timefmt;
