// The C side of Config.Logger: the event callback the library calls, forwarding to the
// exported Go function with the cgo.Handle number it was registered with. (A file of its
// own: a cgo preamble next to //export may only declare, not define.)
#include <stdint.h>

#include "_cgo_export.h"
#include "cctoken.h"

static void cctoken_go_event_trampoline(const cct_event *event, void *user_data) {
    cctokenGoEvent((cct_event *)event, (uintptr_t)user_data);
}

cct_status cctoken_go_set_event_handle(cct_config *cfg, uintptr_t handle, cct_error **err) {
    return cct_config_set_event_callback(cfg, cctoken_go_event_trampoline, (void *)handle, err);
}
