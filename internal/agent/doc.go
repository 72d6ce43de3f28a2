// Package agent is the host agent: it joins the server once with a join
// token, then reports the host and its instances, watches the host's
// assignments and runs them with the drivers, and serves the server's log
// and exec streams.
//
//	             +----------------- server /api/v1/agent -----------------+
//	             |  heartbeat                 assignments (long poll)     |
//	             +-----^-----------+-------------------+------------------+
//	                   |           | revision moved    |
//	heartbeat loop ----+           v                   v
//	  | renews the lease     wake the watcher ---> watch loop -> reconcile:
//	  v                                              1. stop + destroy stale
//	lease file <--- read by the process              2. create / update
//	  |             driver's shims too                 |
//	fence loop: lease lapsed -> stop every instance    v
//	                                      supervisor, one per instance:
//	metrics loop -> samples               start slot -> start -> running -> exit or unhealthy
//	                                        ^   (max_starting at once,        |
//	                                        |    in line by due time, ID)     |
//	                                        +-- restart policy, back-off -----+
//
//	agent HTTP server (agent key): /v1/instances/{id}/logs and /exec -> driver
//
// Safety: an instance runs only while the agent holds a lease, renewed by
// each successful heartbeat (send time + fence timeout) and written to the
// lease file, which the process driver's shims also obey. The server gives
// up on the host only after its heartbeat timeout, longer than the fence
// timeout plus the time to kill, so an instance never runs in two places.
// After contact is regained nothing starts before the assignments have been
// read again, and stale copies are destroyed before anything starts.
//
// Everything the agent knows of its instances is kept in its state
// directory, so a restarted agent re-attaches to running workloads instead
// of killing or duplicating them.
package agent
