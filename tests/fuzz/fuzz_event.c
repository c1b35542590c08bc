/*
 * fuzz_event.c -- libFuzzer target: the event JSON reader.  The input is one
 * JSON text; a parsed event is read back through every accessor and viewed
 * the way the matcher views it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "faultline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_event_t *ev;
    if (!ev && fl_event_new(&ev) != FL_OK) return 0;
    fl_diag_t diag;
    if (fl_event_from_json(ev, (const char *)data, size, &diag) != FL_OK) return 0;
    size_t sum = 0;
    for (int f = 0; f < FL_FIELD_COUNT_; f++) {
        const char *s = fl_event_get(ev, (fl_field)f);
        if (s) sum += strlen(s);
    }
    if (fl_event_get_tag(ev, "retry_after")) sum++;
    fl_eview v;
    fl_eview_init(&v, ev);
    uint32_t len;
    if (fl_eview_tag(&v, "service", &len)) sum += len;
    for (const fl_event_t *c = ev->cause; c; c = c->cause) sum += (size_t)fl_event_attempt(c);
    return sum == (size_t)-1;
}
