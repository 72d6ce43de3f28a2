// Package auth holds Nimbus's credential primitives: argon2id password
// hashes in PHC string form, the password policy, and opaque random
// credentials (session tokens, API keys and secrets) stored only as SHA-256.
//
// Nothing here touches the store or HTTP; the server combines these pieces
// into login, sessions and API-key authentication.
package auth
