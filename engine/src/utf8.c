/* utf8.c -- stub, being written. */
typedef int fl_stub_utf8;
