/*
 * bundle.c -- policy bundles and their signatures.  A bundle is one file,
 * a tar archive compressed with zstd (libarchive), holding a manifest
 * (manifest.json: format, name, version, content id, and the SHA-256 and
 * size of every file), the policy's .lua files and  its tests/ (.jsonl files), and
 * optionally manifest.sig, an Ed25519 signature of the manifest's exact
 * bytes (libsodium).  The manifest names every file by hash, so signing it
 * signs the whole bundle.  A directory can carry the same two files
 * (`faultline sign DIR`), so a signed directory is checked the same way.
 *
 * The engine checks what it loaded, not what is on disk afterwards: the
 * sources read into a version are hashed and compared with the manifest
 * (fl__trust_check), so a file changed between reading and checking cannot
 * slip through.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "loading.h"
#include "engine_internal.h"

#define MANIFEST "manifest.json"
#define SIGNATURE "manifest.sig"
#define BUNDLE_MAX_FILE FL_MAX_POLICY_SOURCE_BYTES /* one file in a bundle */
#define BUNDLE_MAX_FILES 4096

/* A file held in memory: name relative to the bundle root. */
struct bfile {
    char *name;
    unsigned char *data;
    size_t len;
};

struct bset {
    struct bfile *f;
    size_t n, cap;
};

static void bset_free(struct bset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].name);
        free(s->f[i].data);
    }
    free(s->f);
    memset(s, 0, sizeof *s);
}

/* Takes ownership of data. */
static int bset_add(struct bset *s, const char *name, unsigned char *data, size_t len)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        struct bfile *nf = realloc(s->f, nc * sizeof *nf);
        if (!nf) return free(data), FL_ENOMEM;
        s->f = nf;
        s->cap = nc;
    }
    char *n = strdup(name);
    if (!n) return free(data), FL_ENOMEM;
    s->f[s->n++] = (struct bfile){n, data, len};
    return FL_OK;
}

static const struct bfile *bset_find(const struct bset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->f[i].name, name) == 0) return &s->f[i];
    return NULL;
}

/* A whole file (the loader's reader and its size limit). */
static int slurp(const char *path, unsigned char **out, size_t *len, fl_diag_t *diag)
{
    char *text;
    int rc = fl_read_file(path, &text, len, diag);
    if (rc == FL_OK) *out = (unsigned char *)text;
    return rc;
}

static void sha256_hex(const unsigned char *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* ---- collecting a directory ------------------------------------------------- */

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && strcmp(s + a - b, suf) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct bfile *)a)->name, ((const struct bfile *)b)->name);
}

/* DIR/ .lua files and DIR/tests/ .jsonl files, as the loader and `faultline test` read them. */
static int collect_dir(const char *dir, struct bset *s, fl_diag_t *diag)
{
    static const struct { const char *sub, *suffix; } k_parts[] = {{"", ".lua"}, {"tests/", ".jsonl"}};
    for (size_t p = 0; p < 2; p++) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", dir, k_parts[p].sub);
        DIR *d = opendir(sub);
        if (!d) {
            if (p == 0) return fl_diag_set(diag, FL_ENOENT, dir, 0, 0, "cannot open: %s", strerror(errno));
            continue;
        }
        int rc = FL_OK;
        for (struct dirent *de; rc == FL_OK && (de = readdir(d));) {
            if (de->d_name[0] == '.' || !has_suffix(de->d_name, k_parts[p].suffix)) continue;
            char path[4500], rel[600];
            snprintf(path, sizeof path, "%s%s", sub, de->d_name);
            snprintf(rel, sizeof rel, "%s%s", k_parts[p].sub, de->d_name);
            unsigned char *data;
            size_t len;
            if ((rc = slurp(path, &data, &len, diag)) == FL_OK) rc = bset_add(s, rel, data, len);
            if (rc == FL_OK && s->n > BUNDLE_MAX_FILES)
                rc = fl_diag_set(diag, FL_ETOOBIG, dir, 0, 0, "more than %d files", BUNDLE_MAX_FILES);
        }
        closedir(d);
        if (rc != FL_OK) return rc;
    }
    qsort(s->f, s->n, sizeof *s->f, cmp_name);
    return FL_OK;
}

/* ---- manifests ----------------------------------------------------------------- */

/* The manifest of the files in s (manifest.json and .sig excluded), for the
 * version info vi.  Caller frees. */
static char *manifest_of(const struct bset *s, const fl_version_info_t *vi)
{
    json_t *files = json_array();
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->f[i].name, MANIFEST) || !strcmp(s->f[i].name, SIGNATURE)) continue;
        char hex[65];
        sha256_hex(s->f[i].data, s->f[i].len, hex);
        json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "path", s->f[i].name, "sha256", hex, "size",
                                               (json_int_t)s->f[i].len));
    }
    json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:o}", "format", 1, "id", vi->id, "name", vi->name ? vi->name : "",
                          "version", vi->version ? vi->version : "", "files", files);
    char *txt = m ? json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    return txt;
}

/* Check the signature of manifest bytes m (pk NULL: nothing to check). */
static int check_signature(const unsigned char *m, size_t mlen, const struct bfile *sig, const unsigned char *pk,
                           const char *where, fl_diag_t *diag)
{
    if (!pk) return FL_OK;
    if (!sig)
        return fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0,
                           "not signed (no %s) and the engine only loads policies signed by its trusted key",
                           SIGNATURE);
    unsigned char raw[crypto_sign_BYTES];
    size_t got = 0;
    const char *end;
    if (sodium_hex2bin(raw, sizeof raw, (const char *)sig->data, sig->len, " \t\r\n", &got, &end) != 0 ||
        got != sizeof raw)
        return fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0, "%s is not a hex Ed25519 signature", SIGNATURE);
    if (crypto_sign_verify_detached(raw, m, mlen, pk) != 0)
        return fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0,
                           "the signature does not match the manifest and the trusted key (tampered, or signed "
                           "by another key)");
    return FL_OK;
}

static int listed(json_t *files, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(files, i, it) {
        const char *p = json_string_value(json_object_get(it, "path"));
        if (p && strcmp(p, name) == 0) return 1;
    }
    return 0;
}

/* Every file the manifest lists is in s with its hash; the .lua files of s
 * are exactly the listed ones.  `where` names the bundle or directory. */
static int check_files(const unsigned char *m, size_t mlen, const struct bset *s, int lua_required_only,
                       const char *where, fl_diag_t *diag)
{
    json_error_t je;
    json_t *man = json_loadb((const char *)m, mlen, 0, &je);
    json_t *files = json_object_get(man, "files");
    int rc = FL_OK;
    if (!json_is_array(files)) {
        rc = fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0, "%s is not a faultline manifest", MANIFEST);
        goto cleanup;
    }
    size_t i;
    json_t *it;
    json_array_foreach(files, i, it) {
        const char *path = json_string_value(json_object_get(it, "path"));
        const char *want = json_string_value(json_object_get(it, "sha256"));
        const struct bfile *f = path ? bset_find(s, path) : NULL;
        if (!f && path && lua_required_only && !has_suffix(path, ".lua")) continue; /* not loaded */
        if (!f || !want) {
            rc = fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0, "%s lists '%s', which is missing", MANIFEST,
                             path ? path : "?");
            goto cleanup;
        }
        char hex[65];
        sha256_hex(f->data, f->len, hex);
        if (strcmp(hex, want) != 0) {
            rc = fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0, "'%s' does not match its hash in %s (modified)",
                             path, MANIFEST);
            goto cleanup;
        }
    }
    for (size_t k = 0; k < s->n; k++) {
        if (!has_suffix(s->f[k].name, ".lua") || listed(files, s->f[k].name)) continue;
        {
            rc = fl_diag_set(diag, FL_ESIGNATURE, where, 0, 0, "'%s' is not listed in %s (added)", s->f[k].name,
                             MANIFEST);
            goto cleanup;
        }
    }
cleanup:
    json_decref(man);
    return rc;
}

/* ---- reading and writing archives -------------------------------------------- */

static int read_bundle(const char *path, struct bset *s, fl_diag_t *diag)
{
    struct archive *a = archive_read_new();
    if (!a) return FL_ENOMEM;
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
    int rc = FL_OK;
    if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        rc = fl_diag_set(diag, FL_ENOENT, path, 0, 0, "not a policy directory or a readable bundle: %s",
                         archive_error_string(a));
        goto cleanup;
    }
    struct archive_entry *e;
    int r, first = 1;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        first = 0;
        const char *name = archive_entry_pathname(e);
        la_int64_t size = archive_entry_size(e);
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        if (!name || strstr(name, "..") || name[0] == '/' || size < 0 || size > (la_int64_t)BUNDLE_MAX_FILE ||
            s->n >= BUNDLE_MAX_FILES) {
            rc = fl_diag_set(diag, FL_ETOOBIG, path, 0, 0, "bad entry '%s' (path, size or count out of bounds)",
                             name ? name : "?");
            goto cleanup;
        }
        unsigned char *data = malloc((size_t)size + 1);
        if (!data) {
            rc = FL_ENOMEM;
            goto cleanup;
        }
        la_ssize_t got = archive_read_data(a, data, (size_t)size);
        if (got != size) {
            free(data);
            rc = fl_diag_set(diag, FL_EIO, path, 0, 0, "truncated entry '%s'", name);
            goto cleanup;
        }
        if ((rc = bset_add(s, name, data, (size_t)size)) != FL_OK) goto cleanup;
    }
    if (r != ARCHIVE_EOF)
        rc = first ? fl_diag_set(diag, FL_ENOENT, path, 0, 0, "not a policy directory or a bundle (%s)",
                                 archive_error_string(a))
                   : fl_diag_set(diag, FL_EIO, path, 0, 0, "corrupt bundle: %s", archive_error_string(a));
cleanup:
    archive_read_free(a);
    if (rc == FL_OK) qsort(s->f, s->n, sizeof *s->f, cmp_name);
    return rc;
}

static int write_bundle(const char *out, const struct bset *s, fl_diag_t *diag)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp)
        return fl_diag_set(diag, FL_EINVAL, out, 0, 0, "path too long");
    struct archive *a = archive_write_new();
    if (!a) return FL_ENOMEM;
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_zstd(a);
    int rc = FL_OK;
    if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
        rc = fl_diag_set(diag, FL_EIO, tmp, 0, 0, "%s", archive_error_string(a));
        archive_write_free(a);
        return rc;
    }
    /* manifest first, then its signature, then the files in name order */
    static const char *const first[] = {MANIFEST, SIGNATURE};
    for (int pass = 0; pass < 3 && rc == FL_OK; pass++)
        for (size_t i = 0; i < s->n && rc == FL_OK; i++) {
            const struct bfile *f = &s->f[i];
            int is_first = !strcmp(f->name, MANIFEST) || !strcmp(f->name, SIGNATURE);
            if (pass < 2 ? strcmp(f->name, first[pass]) != 0 : is_first) continue;
            struct archive_entry *e = archive_entry_new();
            archive_entry_set_pathname(e, f->name);
            archive_entry_set_size(e, (la_int64_t)f->len);
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_mtime(e, 0, 0); /* reproducible bundles */
            if (archive_write_header(a, e) != ARCHIVE_OK ||
                archive_write_data(a, f->data, f->len) != (la_ssize_t)f->len)
                rc = fl_diag_set(diag, FL_EIO, tmp, 0, 0, "%s", archive_error_string(a));
            archive_entry_free(e);
        }
    if (archive_write_close(a) != ARCHIVE_OK && rc == FL_OK)
        rc = fl_diag_set(diag, FL_EIO, tmp, 0, 0, "%s", archive_error_string(a));
    archive_write_free(a);
    if (rc == FL_OK && rename(tmp, out) != 0) rc = fl_diag_set(diag, FL_EIO, out, 0, 0, "%s", strerror(errno));
    if (rc != FL_OK) remove(tmp);
    return rc;
}

static int sign_bytes(const unsigned char *m, size_t mlen, const unsigned char *sk, unsigned char **out,
                      size_t *outlen)
{
    unsigned char raw[crypto_sign_BYTES];
    crypto_sign_detached(raw, NULL, m, mlen, sk);
    char *hex = malloc(2 * sizeof raw + 2);
    if (!hex) return FL_ENOMEM;
    sodium_bin2hex(hex, 2 * sizeof raw + 1, raw, sizeof raw);
    strcat(hex, "\n");
    *out = (unsigned char *)hex;
    *outlen = strlen(hex);
    return FL_OK;
}

/* Replace (or add) name in s with a copy of data. */
static int bset_put(struct bset *s, const char *name, const unsigned char *data, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return FL_ENOMEM;
    memcpy(copy, data, len);
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->f[i].name, name)) {
            free(s->f[i].data);
            s->f[i].data = copy;
            s->f[i].len = len;
            return FL_OK;
        }
    int rc = bset_add(s, name, copy, len);
    if (rc == FL_OK) qsort(s->f, s->n, sizeof *s->f, cmp_name);
    return rc;
}

/* ---- public API ------------------------------------------------------------ */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The files of dir and their manifest (*man, caller frees).  The policy is
 * loaded and its examples run first: a broken policy is never bundled or
 * signed. */
static int dir_manifest(const char *dir, struct bset *s, char **man, fl_diag_t *diag)
{
    fl_engine_t *e = NULL;
    fl_engine_options_t o = {0};
    fl_version_info_t vi;
    int rc = fl_engine_new(&o, &e);
    if (rc == FL_OK) rc = fl_engine_load(e, dir, diag);
    if (rc == FL_OK) rc = fl_engine_current(e, &vi);
    if (rc == FL_OK) rc = collect_dir(dir, s, diag);
    if (rc == FL_OK && !(*man = manifest_of(s, &vi))) rc = FL_ENOMEM;
    fl_engine_free(e);
    return rc;
}

int fl_key_generate(unsigned char pk[FL_KEY_PUBLIC_BYTES], unsigned char sk[FL_KEY_SECRET_BYTES])
{
    if (!pk || !sk) return FL_EINVAL;
    if (sodium_init() < 0) return FL_EIO;
    crypto_sign_keypair(pk, sk);
    return FL_OK;
}

int fl_bundle_create(const char *dir, const char *out, const unsigned char *sk, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!dir || !out) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL directory or output path");
    if (sodium_init() < 0) return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "libsodium could not start");
    struct bset s = {0};
    char *man = NULL;
    int rc = dir_manifest(dir, &s, &man, diag);
    if (rc == FL_OK) rc = bset_put(&s, MANIFEST, (unsigned char *)man, strlen(man));
    if (rc == FL_OK && sk) {
        unsigned char *sig;
        size_t siglen;
        rc = sign_bytes((unsigned char *)man, strlen(man), sk, &sig, &siglen);
        if (rc == FL_OK) rc = bset_put(&s, SIGNATURE, sig, siglen), free(sig);
    }
    if (rc == FL_OK) rc = write_bundle(out, &s, diag);
    free(man);
    bset_free(&s);
    return rc;
}

/* Sign a bundle (rewritten in place, atomically) or a directory (writes
 * DIR/manifest.json and DIR/manifest.sig). */
int fl_bundle_sign(const char *path, const unsigned char *sk, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!path || !sk) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL path or key");
    if (sodium_init() < 0) return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "libsodium could not start");
    if (!is_dir(path)) {
        struct bset s = {0};
        int rc = read_bundle(path, &s, diag);
        const struct bfile *m = rc == FL_OK ? bset_find(&s, MANIFEST) : NULL;
        if (rc == FL_OK && !m) rc = fl_diag_set(diag, FL_ESIGNATURE, path, 0, 0, "no %s in the bundle", MANIFEST);
        if (rc == FL_OK) rc = check_files(m->data, m->len, &s, 0, path, diag); /* never sign a tampered bundle */
        unsigned char *sig = NULL;
        size_t siglen = 0;
        if (rc == FL_OK) rc = sign_bytes(m->data, m->len, sk, &sig, &siglen);
        if (rc == FL_OK) rc = bset_put(&s, SIGNATURE, sig, siglen);
        if (rc == FL_OK) rc = write_bundle(path, &s, diag);
        free(sig);
        bset_free(&s);
        return rc;
    }
    struct bset s = {0};
    char *man = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = dir_manifest(path, &s, &man, diag);
    if (rc == FL_OK) rc = sign_bytes((unsigned char *)man, strlen(man), sk, &sig, &siglen);
    char mp[4200], sp[4200];
    snprintf(mp, sizeof mp, "%s/%s", path, MANIFEST);
    snprintf(sp, sizeof sp, "%s/%s", path, SIGNATURE);
    FILE *f;
    if (rc == FL_OK && (!(f = fopen(mp, "w")) || fputs(man, f) < 0 || fclose(f) != 0))
        rc = fl_diag_set(diag, FL_EIO, mp, 0, 0, "%s", strerror(errno));
    if (rc == FL_OK && (!(f = fopen(sp, "w")) || fwrite(sig, 1, siglen, f) != siglen || fclose(f) != 0))
        rc = fl_diag_set(diag, FL_EIO, sp, 0, 0, "%s", strerror(errno));
    free(man);
    free(sig);
    bset_free(&s);
    return rc;
}

int fl_bundle_verify(const char *path, const unsigned char *pk, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!path) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL path");
    if (sodium_init() < 0) return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "libsodium could not start");
    struct bset s = {0};
    int rc = is_dir(path) ? collect_dir(path, &s, diag) : read_bundle(path, &s, diag);
    if (rc == FL_OK && is_dir(path)) { /* the two manifest files are not collected from a directory */
        for (int k = 0; k < 2 && rc == FL_OK; k++) {
            char p[4200];
            unsigned char *data;
            size_t len;
            snprintf(p, sizeof p, "%s/%s", path, k ? SIGNATURE : MANIFEST);
            if (slurp(p, &data, &len, diag) == FL_OK) rc = bset_add(&s, k ? SIGNATURE : MANIFEST, data, len);
            else fl_diag_clear(diag);
        }
    }
    const struct bfile *m = rc == FL_OK ? bset_find(&s, MANIFEST) : NULL;
    if (rc == FL_OK && !m) rc = fl_diag_set(diag, FL_ESIGNATURE, path, 0, 0, "no %s", MANIFEST);
    if (rc == FL_OK) rc = check_signature(m->data, m->len, bset_find(&s, SIGNATURE), pk, path, diag);
    if (rc == FL_OK) rc = check_files(m->data, m->len, &s, is_dir(path), path, diag);
    bset_free(&s);
    return rc;
}

/* ---- inside the engine ------------------------------------------------------- */

int fl__bundle_read_sources(fl_version *v, const char *path, const unsigned char *pk, fl_diag_t *diag)
{
    if (sodium_init() < 0) return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "libsodium could not start");
    struct bset s = {0};
    int rc = read_bundle(path, &s, diag);
    const struct bfile *m = rc == FL_OK ? bset_find(&s, MANIFEST) : NULL;
    if (rc == FL_OK && !m) rc = fl_diag_set(diag, FL_ESIGNATURE, path, 0, 0, "no %s in the bundle", MANIFEST);
    if (rc == FL_OK) rc = check_signature(m->data, m->len, bset_find(&s, SIGNATURE), pk, path, diag);
    if (rc == FL_OK) rc = check_files(m->data, m->len, &s, 0, path, diag);
    uint32_t n = 0;
    for (size_t i = 0; rc == FL_OK && i < s.n; i++) n += !strchr(s.f[i].name, '/') && has_suffix(s.f[i].name, ".lua");
    if (rc == FL_OK && n == 0) rc = fl_diag_set(diag, FL_ENOENT, path, 0, 0, "no .lua policy files in this bundle");
    if (rc == FL_OK) {
        v->src_names = calloc(n, sizeof *v->src_names);
        v->src_texts = calloc(n, sizeof *v->src_texts);
        v->src_lens = calloc(n, sizeof *v->src_lens);
        if (!v->src_names || !v->src_texts || !v->src_lens) rc = FL_ENOMEM;
    }
    for (size_t i = 0; rc == FL_OK && i < s.n; i++) {
        struct bfile *f = &s.f[i];
        if (strchr(f->name, '/') || !has_suffix(f->name, ".lua")) continue;
        char name[4300];
        snprintf(name, sizeof name, "%s/%s", path, f->name);
        uint32_t k = v->nsrcs;
        v->src_names[k] = strdup(name);
        v->src_texts[k] = (char *)f->data; /* taken over; NUL-terminated below */
        v->src_lens[k] = f->len;
        f->data[f->len] = '\0'; /* read_bundle allocated len + 1 */
        f->data = NULL;
        v->nsrcs++;
        if (!v->src_names[k]) rc = FL_ENOMEM;
    }
    bset_free(&s);
    return rc;
}

int fl__trust_check_dir(const fl_version *v, const char *dir, const unsigned char *pk, fl_diag_t *diag)
{
    if (!pk) return FL_OK;
    if (sodium_init() < 0) return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "libsodium could not start");
    struct bset s = {0}, meta = {0};
    int rc = FL_OK;
    /* The sources exactly as loaded, under their names relative to dir. */
    for (uint32_t i = 0; rc == FL_OK && i < v->nsrcs; i++) {
        const char *base = strrchr(v->src_names[i], '/');
        unsigned char *copy = malloc(v->src_lens[i] + 1);
        if (!copy) {
            rc = FL_ENOMEM;
            break;
        }
        memcpy(copy, v->src_texts[i], v->src_lens[i]);
        rc = bset_add(&s, base ? base + 1 : v->src_names[i], copy, v->src_lens[i]);
    }
    for (int k = 0; k < 2 && rc == FL_OK; k++) {
        char p[4200];
        unsigned char *data;
        size_t len;
        snprintf(p, sizeof p, "%s/%s", dir, k ? SIGNATURE : MANIFEST);
        if (slurp(p, &data, &len, diag) == FL_OK) rc = bset_add(&meta, k ? SIGNATURE : MANIFEST, data, len);
        else fl_diag_clear(diag);
    }
    const struct bfile *m = bset_find(&meta, MANIFEST);
    if (rc == FL_OK && !m)
        rc = fl_diag_set(diag, FL_ESIGNATURE, dir, 0, 0,
                         "not signed (no %s) and the engine only loads policies signed by its trusted key", MANIFEST);
    if (rc == FL_OK) rc = check_signature(m->data, m->len, bset_find(&meta, SIGNATURE), pk, dir, diag);
    if (rc == FL_OK) {
        /* Only the .lua files were loaded: check those against the manifest. */
        json_t *man = json_loadb((const char *)m->data, m->len, 0, NULL);
        json_t *files = json_object_get(man, "files");
        size_t i;
        json_t *it;
        json_array_foreach(files, i, it) {
            const char *p = json_string_value(json_object_get(it, "path"));
            if (p && has_suffix(p, ".lua") && !strchr(p, '/') && !bset_find(&s, p)) {
                rc = fl_diag_set(diag, FL_ESIGNATURE, dir, 0, 0, "%s lists '%s', which is missing", MANIFEST, p);
                break;
            }
        }
        json_decref(man);
        if (rc == FL_OK) {
            /* check_files wants every listed file present: give it the
             * non-.lua ones from disk through a filtered manifest check. */
            struct bset all = {0};
            rc = collect_dir(dir, &all, diag);
            for (size_t k = 0; rc == FL_OK && k < s.n; k++) rc = bset_put(&all, s.f[k].name, s.f[k].data, s.f[k].len);
            if (rc == FL_OK) rc = check_files(m->data, m->len, &all, 1, dir, diag);
            bset_free(&all);
        }
    }
    bset_free(&s);
    bset_free(&meta);
    return rc;
}
