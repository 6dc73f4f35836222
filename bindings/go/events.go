package cctoken

// #include <stdint.h>
// #include "cctoken.h"
// cct_status cctoken_go_set_event_handle(cct_config *cfg, uintptr_t handle, cct_error **err);
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"runtime/cgo"
	"time"
)

// Events: with Config.Logger set, every event of the library becomes one slog record on that
// logger: token request attempts and their outcomes, refresh ahead of expiry, a failed refresh
// while the cached token is served, cool-downs, secret rotation, discovery, risky settings.
// The record's message is the library's one-line text; its attributes are "event" (the kind,
// a stable name such as "token_request.failed") and the event's fields (client_id,
// token_endpoint, http_status, oauth_error, error_class, attempt, will_retry, retry_in_ms,
// time_left_ms, ...). Levels: errors Error, handled failures Warn, outcomes Info, internal
// decisions Debug. Events never hold a secret or a token.
//
// Records come from whichever thread did the work, including library threads, never from a
// cache hit; a slow handler delays only the token request that raised the event. None is
// logged after Close has freed the client.
//
// The logger reaches C as a cgo.Handle (an integer), never as a Go pointer; the handle is
// deleted once cct_client_free has returned, after which the library calls no callback.

// setEventHandle registers the logger on a C configuration; the returned handle must be
// deleted after the client built from it is freed (or when building it failed).
func setEventHandle(cc *C.cct_config, logger *slog.Logger) (cgo.Handle, error) {
	h := cgo.NewHandle(logger)
	var cerr *C.cct_error
	if st := C.cctoken_go_set_event_handle(cc, C.uintptr_t(h), &cerr); st != C.CCT_STATUS_OK {
		h.Delete()
		return 0, errorFrom(st, cerr)
	}
	return h, nil
}

var slogLevels = map[C.cct_level]slog.Level{
	C.CCT_LEVEL_ERROR: slog.LevelError,
	C.CCT_LEVEL_WARN:  slog.LevelWarn,
	C.CCT_LEVEL_INFO:  slog.LevelInfo,
	C.CCT_LEVEL_DEBUG: slog.LevelDebug,
}

//export cctokenGoEvent
func cctokenGoEvent(ev *C.cct_event, handle C.uintptr_t) {
	logger, ok := cgo.Handle(handle).Value().(*slog.Logger)
	if !ok || logger == nil {
		return
	}
	level, ok := slogLevels[C.cct_event_level(ev)]
	if !ok {
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if !logger.Enabled(ctx, level) {
		return
	}
	var decoded struct {
		Time    int64                      `json:"time_unix_ms"`
		Kind    string                     `json:"kind"`
		Message string                     `json:"message"`
		Fields  map[string]json.RawMessage `json:"fields"`
	}
	if json.Unmarshal([]byte(C.GoString(C.cct_event_json(ev))), &decoded) != nil {
		return
	}
	attrs := make([]slog.Attr, 0, len(decoded.Fields)+1)
	attrs = append(attrs, slog.String("event", decoded.Kind))
	// In the library's field order (cct_event_field), with typed values.
	n := int(C.cct_event_field_count(ev))
	for i := range n {
		var name, value *C.char
		if !C.cct_event_field(ev, C.size_t(i), &name, &value) {
			continue
		}
		key := C.GoString(name)
		attrs = append(attrs, typedAttr(key, decoded.Fields[key]))
	}
	// Stamped with the event's own time: delivery may come when the token request ends.
	r := slog.NewRecord(time.UnixMilli(decoded.Time), level, decoded.Message, 0)
	r.AddAttrs(attrs...)
	_ = logger.Handler().Handle(ctx, r)
}

// typedAttr keeps JSON numbers as integers and booleans as booleans.
func typedAttr(key string, raw json.RawMessage) slog.Attr {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return slog.String(key, string(raw))
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return slog.Int64(key, i)
		}
		return slog.String(key, x.String())
	case bool:
		return slog.Bool(key, x)
	case string:
		return slog.String(key, x)
	default:
		return slog.String(key, string(raw))
	}
}
