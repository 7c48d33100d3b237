/* Connects the phone to the leak oracle (sim/oracle): what the phone knows about a
 * packet leaving a physical interface becomes the oracle's origin, including whether
 * the user wanted protection at that moment. */
#ifndef TS_PHONE_LEAKS_H
#define TS_PHONE_LEAKS_H

#include "ts_leak.h"
#include "ts_phone.h"

/* The oracle's view of an egress the phone reported. */
void ts_phone_egress_origin(ts_phone *ph, const ts_phone_origin *o, ts_egress_origin *out);
/* Reports one egress to the oracle (call from an egress hook). */
void ts_phone_report_egress(ts_phone *ph, ts_leak_oracle *oracle, int iface, const ts_packet *pkt,
                            const ts_phone_origin *o);
/* Installs an egress hook that reports everything to `oracle` (the phone has one
 * hook: callers that need their own call ts_phone_report_egress from it). */
int ts_phone_watch_leaks(ts_phone *ph, ts_leak_oracle *oracle);

#endif
