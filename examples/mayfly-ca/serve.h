// `mayfly-ca serve`: run the CA's HTTPS API until SIGTERM or SIGINT, and
// reload its provisioners on SIGHUP.

#ifndef MAYFLY_EXAMPLES_MAYFLY_CA_SERVE_H_
#define MAYFLY_EXAMPLES_MAYFLY_CA_SERVE_H_

namespace mayfly {
namespace cli {

// ServeCommand runs `argv[0] serve CONFIG ...` and returns the exit code:
// 0 after a clean shutdown, 1 when the CA cannot start, 2 for bad usage.
// Serving as root without --user NAME logs a warning (--allow-root
// silences it).
//
// Before it reads any secret it sets umask 077, RLIMIT_CORE 0 and
// PR_SET_DUMPABLE 0. With --user (as root) it opens the store as that
// user, reads the keys and binds the address as root, then switches every
// thread to the user and checks that root cannot be regained.
//
// It must be called before the process starts any thread: it blocks
// SIGTERM, SIGINT and SIGHUP in the calling thread so that every thread
// created later inherits the mask, and then receives them with sigwait()
// in that thread; no work is ever done in an asynchronous signal handler.
int ServeCommand(int argc, char** argv);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_MAYFLY_CA_SERVE_H_
