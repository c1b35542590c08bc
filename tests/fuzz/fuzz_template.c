/*
 * fuzz_template.c -- libFuzzer target: the message template parser and
 * renderer.  Input: the template source, then (after the first NUL, if any)
 * a message that fills the event and a capture.  Also runs the fingerprint
 * normaliser over the message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "faultline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    size_t slen = strnlen(src, size);
    char *tsrc = malloc(slen + 1);
    if (!tsrc) return 0;
    memcpy(tsrc, src, slen);
    tsrc[slen] = '\0';
    const char *msg = slen < size ? src + slen + 1 : "";
    size_t mlen = slen < size ? size - slen - 1 : 0;

    fl_template t;
    char err[256];
    if (fl_template_parse(&t, "fuzz", tsrc, err, sizeof err) == 0) {
        fl_event_t *ev = NULL;
        if (fl_event_new(&ev) == FL_OK) {
            fl_event_set(ev, FL_FIELD_OP, "payments.charge", (size_t)-1);
            fl_event_set(ev, FL_FIELD_DOMAIN, "http", (size_t)-1);
            fl_event_set(ev, FL_FIELD_CODE, "503", (size_t)-1);
            fl_event_set_tag(ev, "service", "billing");
            if (fl_utf8_valid(msg, mlen)) fl_event_set(ev, FL_FIELD_MESSAGE, msg, mlen);
            fl_eview v;
            fl_eview_init(&v, ev);
            fl_capture caps[2] = {{"host", msg, (uint32_t)(mlen > 64 ? 64 : mlen)}, {"n", "42", 2}};
            struct fl_render_env env = {&v, caps, 2, "unavailable.dns", 2, 1500, 1024};
            fl_strbuf sb = {0};
            fl_template_render(&t, &env, &sb);
            fl_sb_free(&sb);
            fl_event_free(ev);
        }
        fl_template_free(&t);
    }
    free(tsrc);
    char out[512];
    fl_fp_normalize(msg, mlen, out, sizeof out);
    char fp[17];
    fl_fingerprint("internal", "http", "500", NULL, msg, mlen, fp);
    return 0;
}
