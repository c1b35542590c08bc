/*
 * bundle.c -- `faultline keygen`, `bundle`, `sign` and `verify`: one-file
 * policy bundles and Ed25519 signatures for a rollout (docs/operations.md).
 * Keys are files of hex text: PREFIX.pub (public, 32 bytes) and PREFIX.key
 * (secret, 64 bytes, created 0600).  The trusted key of eval and check comes
 * from --trusted-key or $FAULTLINE_TRUSTED_KEY (cli_trusted_key).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Read a hex key of exactly n bytes from path.  0 on success. */
int cli_read_key(const char *path, unsigned char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "faultline: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char hex[512];
    size_t len = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[len] = '\0';
    size_t got = 0;
    if (sodium_init() < 0 || sodium_hex2bin(out, n, hex, len, " \t\r\n", &got, NULL) != 0 || got != n) {
        fprintf(stderr, "faultline: %s: not a %s key (%zu hex digits expected)\n", path,
                n == FL_KEY_PUBLIC_BYTES ? "public" : "secret", 2 * n);
        return -1;
    }
    return 0;
}

const unsigned char *cli_trusted_key(const char *given, unsigned char buf[FL_KEY_PUBLIC_BYTES], int *err)
{
    const char *path = given ? given : getenv("FAULTLINE_TRUSTED_KEY");
    *err = 0;
    if (!path || !*path) return NULL;
    if (cli_read_key(path, buf, FL_KEY_PUBLIC_BYTES) != 0) {
        *err = 1;
        return NULL;
    }
    return buf;
}

static int write_hex(const char *path, const unsigned char *b, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "faultline keygen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char hex[2 * FL_KEY_SECRET_BYTES + 2];
    sodium_bin2hex(hex, sizeof hex, b, n);
    strcat(hex, "\n");
    ssize_t w = write(fd, hex, strlen(hex));
    int rc = (w == (ssize_t)strlen(hex) && close(fd) == 0) ? 0 : -1;
    if (rc) fprintf(stderr, "faultline keygen: %s: write failed\n", path);
    return rc;
}

static void print_diag(const char *cmd, int rc, const fl_diag_t *d)
{
    if (d->file[0] && d->line)
        fprintf(stderr, "faultline %s: %s:%d:%d: %s\n", cmd, d->file, d->line, d->col, d->message);
    else if (d->file[0])
        fprintf(stderr, "faultline %s: %s: %s\n", cmd, d->file, d->message[0] ? d->message : fl_strerror(rc));
    else
        fprintf(stderr, "faultline %s: %s\n", cmd, d->message[0] ? d->message : fl_strerror(rc));
}

int cli_keygen(int argc, char **argv)
{
    static const char help[] =
        "usage: faultline keygen -o PREFIX\n\n"
        "Creates an Ed25519 key pair for signing policy bundles: PREFIX.pub (give it to\n"
        "the engines that must trust the policy: --trusted-key or $FAULTLINE_TRUSTED_KEY)\n"
        "and PREFIX.key (secret, mode 0600; keep it where the policy is built).\n"
        "Existing files are never overwritten.\n\n"
        "  -o, --out PREFIX   where to write PREFIX.pub and PREFIX.key\n";
    static const struct option longs[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *prefix = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
        if (c == 'o') prefix = optarg;
        else if (c == 'h') return fputs(help, stdout), FL_EXIT_OK;
        else return fputs(help, stderr), FL_EXIT_USAGE;
    }
    if (!prefix || optind != argc) return fputs(help, stderr), FL_EXIT_USAGE;
    unsigned char pk[FL_KEY_PUBLIC_BYTES], sk[FL_KEY_SECRET_BYTES];
    if (fl_key_generate(pk, sk) != FL_OK) return fputs("faultline keygen: no randomness\n", stderr), FL_EXIT_IO;
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s.pub", prefix);
    snprintf(p2, sizeof p2, "%s.key", prefix);
    int rc = write_hex(p2, sk, sizeof sk, 0600) == 0 && write_hex(p1, pk, sizeof pk, 0644) == 0;
    sodium_memzero(sk, sizeof sk);
    if (!rc) return FL_EXIT_IO;
    printf("public key %s\nsecret key %s\n", p1, p2);
    return FL_EXIT_OK;
}

int cli_bundle(int argc, char **argv)
{
    static const char help[] =
        "usage: faultline bundle [-p DIR] -o FILE [-k SECRET_KEY]\n\n"
        "Writes the policy in DIR as one bundle file (tar + zstd): its .lua files, its\n"
        "tests/ and a manifest with the content id, name, version and the SHA-256 of\n"
        "every file.  The policy is loaded and its examples run first: a broken policy\n"
        "is never bundled.  With -k the bundle is signed (see `faultline sign`).\n"
        "Engines load a bundle wherever they take a directory (-p FILE).\n\n"
        "  -p, --policy DIR   policy directory (default: the stock pack)\n"
        "  -o, --out FILE     the bundle to write (replaced atomically)\n"
        "  -k, --key FILE     secret key from `faultline keygen`\n";
    static const struct option longs[] = {{"policy", required_argument, 0, 'p'}, {"out", required_argument, 0, 'o'},
                                          {"key", required_argument, 0, 'k'},    {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *dir = NULL, *out = NULL, *key = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:o:k:h", longs, NULL)) != -1) {
        if (c == 'p') dir = optarg;
        else if (c == 'o') out = optarg;
        else if (c == 'k') key = optarg;
        else if (c == 'h') return fputs(help, stdout), FL_EXIT_OK;
        else return fputs(help, stderr), FL_EXIT_USAGE;
    }
    if (!out || optind != argc) return fputs(help, stderr), FL_EXIT_USAGE;
    dir = cli_policy_dir(dir, argv[0]);
    unsigned char sk[FL_KEY_SECRET_BYTES];
    if (key && cli_read_key(key, sk, sizeof sk) != 0) return FL_EXIT_USAGE;
    fl_diag_t d;
    int rc = fl_bundle_create(dir, out, key ? sk : NULL, &d);
    sodium_memzero(sk, sizeof sk);
    if (rc != FL_OK) {
        print_diag("bundle", rc, &d);
        return rc == FL_EIO ? FL_EXIT_IO : FL_EXIT_POLICY;
    }
    printf("%s: bundle of %s%s\n", out, dir, key ? ", signed" : "");
    return FL_EXIT_OK;
}

/* -k/--key FILE and -h: -1 to go on (operands from optind), else the exit
 * status to return. */
static int parse_key_opt(int argc, char **argv, const char *help, const char **key)
{
    static const struct option longs[] = {{"key", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", longs, NULL)) != -1) {
        if (c == 'k') *key = optarg;
        else if (c == 'h') return fputs(help, stdout), FL_EXIT_OK;
        else return fputs(help, stderr), FL_EXIT_USAGE;
    }
    return -1;
}

int cli_sign(int argc, char **argv)
{
    static const char help[] =
        "usage: faultline sign -k SECRET_KEY PATH\n\n"
        "Signs a bundle (rewritten in place with its signature) or a policy directory\n"
        "(writes DIR/manifest.json and DIR/manifest.sig).  Only a valid policy is\n"
        "signed, and a bundle whose files do not match its manifest is refused.\n\n"
        "  -k, --key FILE     secret key from `faultline keygen`\n";
    const char *key = NULL;
    int prc = parse_key_opt(argc, argv, help, &key);
    if (prc >= 0) return prc;
    if (!key || optind + 1 != argc) return fputs(help, stderr), FL_EXIT_USAGE;
    unsigned char sk[FL_KEY_SECRET_BYTES];
    if (cli_read_key(key, sk, sizeof sk) != 0) return FL_EXIT_USAGE;
    fl_diag_t d;
    int rc = fl_bundle_sign(argv[optind], sk, &d);
    sodium_memzero(sk, sizeof sk);
    if (rc != FL_OK) {
        print_diag("sign", rc, &d);
        return rc == FL_EIO ? FL_EXIT_IO : FL_EXIT_POLICY;
    }
    printf("%s: signed\n", argv[optind]);
    return FL_EXIT_OK;
}

int cli_verify(int argc, char **argv)
{
    static const char help[] =
        "usage: faultline verify [-k PUBLIC_KEY] PATH\n\n"
        "Checks a bundle or a signed directory: every file the manifest lists is\n"
        "present with its SHA-256, no .lua file is unlisted, and, with -k (or\n"
        "$FAULTLINE_TRUSTED_KEY), the manifest's signature.  Exit 0 when it holds,\n"
        "1 when it does not (the first problem on stderr), 2 usage, 4 unreadable.\n\n"
        "  -k, --key FILE     public key (default: $FAULTLINE_TRUSTED_KEY)\n";
    const char *key = NULL;
    int prc = parse_key_opt(argc, argv, help, &key);
    if (prc >= 0) return prc;
    if (optind + 1 != argc) return fputs(help, stderr), FL_EXIT_USAGE;
    unsigned char pkbuf[FL_KEY_PUBLIC_BYTES];
    int err;
    const unsigned char *pk = cli_trusted_key(key, pkbuf, &err);
    if (err) return FL_EXIT_USAGE;
    fl_diag_t d;
    int rc = fl_bundle_verify(argv[optind], pk, &d);
    if (rc != FL_OK) {
        print_diag("verify", rc, &d);
        return rc == FL_EIO ? FL_EXIT_IO : FL_EXIT_BAD_INPUT;
    }
    printf("%s: ok%s\n", argv[optind], pk ? ", signed by the trusted key" : " (integrity only; no key given)");
    return FL_EXIT_OK;
}
