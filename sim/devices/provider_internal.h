/* Inside sim/devices only: the packet-tunnel provider and its negotiation client
 * (neg_client.c), which the provider owns and drives. */
#ifndef TS_PROVIDER_INTERNAL_H
#define TS_PROVIDER_INTERNAL_H

#include "ts_provider.h"

typedef struct ts_neg_client ts_neg_client;

/* ---- the client, driven by the provider */
/* Allocated with the provider (freed by ts_neg_client_free in its release). The
 * config is copied with its defaults applied; TS_ENOTSUP for a path the phone's
 * profile lacks (NWTCPConnection, virtualInterface). */
int ts_neg_client_create(ts_provider *p, const ts_neg_config *cfg, ts_neg_client **out);
void ts_neg_client_free(ts_neg_client *c);
/* A new process: the schedule starts over (a new actor in Mullvad). */
void ts_neg_client_launch(ts_neg_client *c);
/* The engine is up (a connect attempt): wait for a completed handshake. */
void ts_neg_client_engine_up(ts_neg_client *c);
/* The engine goes (stop, error state, process end): the attempt is cancelled. A
 * process that died drops its socket without a word to the peer (died = true). */
void ts_neg_client_engine_down(ts_neg_client *c, bool died);
/* From the engine's sink (inside the engine call: records only). */
void ts_neg_client_engine_event(ts_neg_client *c, int event);
/* A handshake completed (outside the engine call). */
void ts_neg_client_handshake_done(ts_neg_client *c);
const ts_neg_config *ts_neg_client_config(const ts_neg_client *c);
ts_neg_state ts_neg_client_state(const ts_neg_client *c);
void ts_neg_client_stats(const ts_neg_client *c, ts_neg_stats *out);
bool ts_neg_client_last(const ts_neg_client *c, ts_neg_attempt *out);

/* ---- the provider, for the client */
void ts_provider_trace(ts_provider *p, const char *kind, const char *detail);
/* The provider's static public key (the request's parent key). */
void ts_provider_static_public(const ts_provider *p, uint8_t out[WG_KEY_LEN]);
/* The configured pre-shared key, NULL when none (restored when an attempt fails). */
const uint8_t *ts_provider_configured_psk(const ts_provider *p);
/* The negotiated identity: the engine's static key becomes the ephemeral private key
 * the request carried (wg_device_set_private_key) and the relay peer's PSK the
 * negotiated one. Sessions under the old key stop sending (they still receive) and
 * the engine's one-initiation-per-REKEY_TIMEOUT gate re-opens, so the provider's view
 * of the gate is reset too: a rehandshake goes at once. TS_ESTATE without an engine,
 * TS_EINVAL if the engine refuses (or the key is the relay's own). */
int ts_provider_use_ephemeral(ts_provider *p, const uint8_t private_key[WG_KEY_LEN],
                              const uint8_t psk[WG_KEY_LEN]);
/* Back to the configured identity: the parent key and the configured PSK (none
 * unless configured), as a new process starts with. Same codes. */
int ts_provider_use_parent(ts_provider *p);
/* A new handshake with the relay: now, or when the engine's one-initiation-per-
 * REKEY_TIMEOUT gate opens (WireGuard §6.1; an initiation within 5 s of the last
 * would be rate limited and nothing sent). */
void ts_provider_rehandshake(ts_provider *p, const char *why);
/* The negotiation is done (completion after-negotiation) or gave up (the error
 * state, reason negotiation-failed). */
void ts_provider_negotiated(ts_provider *p);
void ts_provider_negotiation_gave_up(ts_provider *p);

#endif
