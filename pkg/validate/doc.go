// Package validate decides whether a chain is valid, in layers, as btcd does:
//
//  1. sanity, on each line alone: canonical syntax (RuleSyntax), complete
//     line (RuleTornLine), stated hash = computed hash (RuleHash), unique
//     ids (RuleDuplicateID), each id bound to its message's text
//     (RuleUnboundID), params only in the genesis (RuleParamsOutsideGenesis);
//  2. genesis: index 0, params present and well-formed, the exact genesis
//     those params define, and the expected one when the caller knows it;
//  3. linkage, against the previous block: index +1, previous_hash, a
//     strictly later timestamp, at most DefaultMaxFuture ahead of the clock;
//  4. work: the proof of every block but the genesis, checked by the chain's
//     strategy plugin in batches (Stream), one batch in flight while the next
//     is read.
//
// Every violation is a *RuleError naming the block (index, line, hash), the
// rule, and the values seen and expected. Checker and Stream hold only the
// previous block, so memory does not grow with the chain.
//
// Fork choice (Compare, the one function that decides it, and SettlesTie):
// the chain with more total work wins, and since a chain's difficulty is
// fixed in its genesis, that is the longer chain; on a tie the local chain
// stays, and the node with the larger tip hash mines the block that ends it.
package validate
