// Package e2e holds end-to-end tests of Nimbus: a real server on a real
// store, real agents (in this process, or as `nimbus agent` processes in
// network namespaces) and real drivers running real processes and
// containers. It has no code outside its tests.
package e2e
