// Package pow is the host side of bc's proof-of-work plugins: discovery,
// start, handshake, and the Strategy interface plugins implement.
//
// A strategy is an executable named bc-pow-<name>, found in --plugin-dir
// (BC_PLUGIN_DIR) or next to the running binary. Open starts it with
// hashicorp/go-plugin over gRPC (protocol in powpb/pow.proto, version
// ProtocolVersion) and Close kills and reaps it. The calls are batch-oriented:
// one Seal stream covers a whole proof search (cancelled with its context),
// one Verify call covers up to validate.BatchBytes of work records.
//
// Plugin processes never outlive their host: the SDK (package powsdk) exits
// when its parent process is gone, and the host starts each plugin from an
// OS thread that lives exactly as long as the plugin, with Pdeathsig set, so
// the kernel kills the plugin too.
package pow
