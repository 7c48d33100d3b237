/* ts_neg_client: the packet-tunnel provider's ephemeral-peer negotiation client
 * (Mullvad's PostQuantumKeyExchangeActor / EphemeralPeerExchangeActor, ios-model.md
 * §2.5 "Ephemeral peer exchange"), speaking sim/net's ts_negotiation protocol to the
 * relay's in-tunnel service (gateway 10.64.0.1, TCP port 1337, MV-CODE).
 *
 * One negotiation per engine (a connect attempt of a provider process), state by
 * state (ts_neg_state):
 *   waiting-for-tunnel  the engine is up; the client waits for a completed
 *                       handshake (the restricted tunnel to the relay is up during
 *                       negotiatingEphemeralPeer, §2.5).
 *   connecting          attempt N: a TCP connection to gateway:port on the path:
 *                       - nwtcpconnection: createTCPConnectionThroughTunnel, the
 *                         phone's NWTCPConnection (A-NWTCP; where the profile has the
 *                         API); the attempt waits for isViable (MV-CODE
 *                         PostQuantumKeyExchangeActor.swift). The OS model decides
 *                         viability: never under includeAllNetworks (MV-BLOG, GT-10).
 *                       - nwconnection-virtual: NWConnection TCP with
 *                         requiredInterface = virtualInterface (iOS 18 only, A-VIF;
 *                         no path under includeAllNetworks, MV-BLOG, GT-11).
 *                       - userspace-netstack: the provider's lwIP instance through the
 *                         mux, straight into the engine (PR #7289, GT-12).
 *   exchanging          connected (viable): the request is written (parent key = the
 *                       provider's static public key, a new ephemeral X25519 pair from
 *                       the provider's stream "<name>/negotiation"), the response read.
 *   rekeying            response ok: the PSK derived (ts_neg_derive_psk); the
 *                       ephemeral key pair the request carried becomes the engine's
 *                       static key (wg_device_set_private_key) and the PSK the relay
 *                       peer's (wg_peer_set_preshared_key): the relay registered that
 *                       key as a separate ephemeral peer with that PSK and left the
 *                       parent peer as it was (MV-CODE ephemeralpeer.proto, ts_relay.h).
 *                       Sessions under the parent key stop sending; a new handshake
 *                       is initiated at once (the key change re-opens the engine's
 *                       one-initiation-per-REKEY_TIMEOUT gate); the connection is
 *                       closed.
 *   done                that handshake completed: the tunnel runs on the ephemeral
 *                       peer. The timeout schedule starts over (Mullvad's reset()
 *                       after success).
 * Timeouts (Mullvad: the connection timer runs until the connection is viable, then
 * the exchange gets the same duration; here likewise, and the rekey phase too): the
 * attempt's timeout is timeout_initial x multiplier^(N-1), capped at timeout_max
 * (REST.RetryStrategy.postQuantumKeyExchange: 10 s, x2, 30 s; no jitter here so the
 * schedule is exact). A timeout, a reset or closed connection, or a refusal fails the
 * attempt: the connection is cancelled, an identity installed by it is taken back
 * (the parent key and the configured PSK, which the relay's parent peer still
 * expects), and the provider reconnects (a new handshake: Mullvad's onFailure ->
 * reconnect); the next attempt starts when that handshake completes. A new process
 * always starts from the parent key (the engine is made from the configuration), so
 * its restricted tunnel works whatever the relay holds for an earlier one.
 * After max_retries retries (the first attempt is not a retry) the schedule is
 * exhausted: on_exhausted says what then (see ts_neg_on_exhausted).
 * Each step is traced (kind "provider-negotiation", subject the provider); only the
 * success's detail contains "done". */
#ifndef TS_NEG_CLIENT_H
#define TS_NEG_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_policy.h"
#include "ts_sock.h"
#include "ts_time.h"

/* How the provider reaches the service (sim/scenario's ts_scenario_neg_path, same order). */
typedef enum ts_neg_path {
  TS_NEG_PATH_NWTCPCONNECTION = 0, /* createTCPConnectionThroughTunnel (legacy, A-NWTCP) */
  TS_NEG_PATH_NWCONNECTION_VIRTUAL, /* NWConnection, requiredInterface = virtualInterface (A-VIF) */
  TS_NEG_PATH_NETSTACK,            /* the provider's userspace netstack and the mux (PR #7289) */
  TS_NEG_PATH_COUNT
} ts_neg_path;

/* What happens once max_retries retries have failed. */
typedef enum ts_neg_on_exhausted {
  /* Mullvad: keep cycling at timeout_max. Its delay iterator never ends
   * (ExponentialBackoff returns maxDelay forever; makeDelayIterator does not consult
   * maxRetryCount, which only reaches the Rust REST strategy), so the actor's
   * `keyExchangeRetriesIterator.next() ?? .seconds(10)` never falls back and every
   * failure reconnects (MV-CODE RetryStrategy.swift, ExponentialBackoff.swift,
   * PostQuantumKeyExchangeActor.swift): the perpetual cycle of GT-10. */
  TS_NEG_EXHAUSTED_CYCLE = 0,
  /* A "what if" (INF): give up into the error state, reason negotiation-failed. */
  TS_NEG_EXHAUSTED_ERROR_STATE,
  TS_NEG_EXHAUSTED_COUNT
} ts_neg_on_exhausted;

typedef enum ts_neg_state {
  TS_NEG_STATE_OFF = 0,        /* disabled, or no engine (no process, error state) */
  TS_NEG_STATE_WAIT_TUNNEL,    /* waiting for a completed handshake */
  TS_NEG_STATE_CONNECTING,     /* attempt open, waiting for connected / viable */
  TS_NEG_STATE_EXCHANGING,     /* request sent, reading the response */
  TS_NEG_STATE_REKEYING,       /* ephemeral key + PSK installed, waiting for a handshake */
  TS_NEG_STATE_DONE,           /* negotiated: the tunnel runs on the ephemeral peer */
  TS_NEG_STATE_GAVE_UP,        /* exhausted with TS_NEG_EXHAUSTED_ERROR_STATE */
  TS_NEG_STATE_COUNT
} ts_neg_state;

/* The provider's `negotiation` config. Zero timing fields take the defaults;
 * max_retries is taken as given (ts_neg_config_default fills every default). */
typedef struct ts_neg_config {
  bool enabled;
  ts_neg_path path;
  ts_ipaddr gateway;            /* family 0: 10.64.0.1 (the relay's in-tunnel gateway) */
  uint16_t port;                /* 0: TS_NEG_PORT (1337) */
  ts_time timeout_initial;      /* 0: 10 s */
  uint32_t timeout_multiplier;  /* 0: 2 */
  ts_time timeout_max;          /* 0: 30 s */
  uint32_t max_retries;         /* default 10 */
  ts_neg_on_exhausted on_exhausted; /* default cycle (Mullvad) */
} ts_neg_config;

typedef struct ts_neg_stats {
  uint32_t attempts;     /* connections opened (or tried: open_errors) */
  uint32_t timeouts;     /* attempts that ran out of time (any phase) */
  uint32_t failures;     /* attempts ended otherwise: reset, closed, refused, bad reply */
  uint32_t open_errors;  /* the path refused to open (counted in attempts; then a timeout) */
  uint32_t responses;    /* well-formed responses read (status ok or not) */
  uint32_t psk_installs; /* ephemeral key + PSK installed (responses ok) */
  uint32_t successes;    /* handshakes with the negotiated PSK completed */
  uint32_t reconnects;   /* new handshakes asked for after a failed attempt */
} ts_neg_stats;

typedef enum ts_neg_outcome {
  TS_NEG_OUTCOME_PENDING = 0, /* the attempt runs */
  TS_NEG_OUTCOME_DONE,
  TS_NEG_OUTCOME_TIMEOUT,
  TS_NEG_OUTCOME_FAILED,
  TS_NEG_OUTCOME_ABORTED,     /* the engine went (stop, error state, process end) */
} ts_neg_outcome;

/* The last attempt, as plain data for oracles and explainers. For the OS-socket
 * paths, the socket's state when the attempt ended (or now, while it runs) and the
 * policy verdict for its flow: under includeAllNetworks an NWTCPConnection stays
 * waiting, never viable, verdict silent-fail (rule ian-provider-silent-fail). */
typedef struct ts_neg_attempt {
  uint32_t number;          /* 1-based within the current schedule */
  ts_neg_path path;
  ts_time started, ended;   /* ended: 0 while pending */
  ts_time timeout;          /* this attempt's timeout */
  ts_neg_outcome outcome;
  ts_neg_state reached;     /* the furthest state the attempt reached */
  bool os_socket;           /* the path is an OS socket: the fields below are set */
  ts_nw_state nw_state;     /* waiting / preparing / ready ... */
  bool viable;              /* NWTCPConnection.isViable (ready, for NWConnection) */
  ts_verdict verdict;       /* ts_policy_decide for the socket's flow */
} ts_neg_attempt;

void ts_neg_config_default(ts_neg_config *c);
/* "nwtcpconnection", "nwconnection-virtual", "userspace-netstack" (the scenario words). */
const char *ts_neg_path_name(ts_neg_path p);
/* "off", "waiting-for-tunnel", "connecting", "exchanging", "rekeying", "done", "gave-up". */
const char *ts_neg_state_name(ts_neg_state s);
const char *ts_neg_outcome_name(ts_neg_outcome o); /* "pending", "done", "timeout", ... */
const char *ts_neg_on_exhausted_name(ts_neg_on_exhausted e); /* "cycle", "error-state" */
/* The timeout of attempt n (1-based) of a config (defaults applied). */
ts_time ts_neg_attempt_timeout(const ts_neg_config *c, uint32_t n);

#endif
