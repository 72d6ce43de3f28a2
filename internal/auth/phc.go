package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrInvalidHash reports a stored password hash that is not a well-formed
// argon2id PHC string with sane parameters.
var ErrInvalidHash = errors.New("invalid argon2id hash")

// params are the argon2id cost parameters and output sizes of one hash.
type params struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8
	saltLen int
	keyLen  int
}

// defaultParams are OWASP's recommended argon2id settings (19 MiB, 2 passes,
// 1 lane) with a 16-byte salt and a 32-byte key.
var defaultParams = params{memory: 19456, time: 2, threads: 1, saltLen: 16, keyLen: 32}

// Bounds accepted when parsing, so a corrupt or hostile hash cannot make a
// verification allocate gigabytes or loop for minutes.
const (
	maxMemory = 1 << 20 // 1 GiB in KiB
	maxTime   = 64
	minSalt   = 8
	maxSalt   = 64
	minKey    = 16
	maxKey    = 64
)

var b64 = base64.RawStdEncoding

// encodePHC formats a hash as $argon2id$v=19$m=..,t=..,p=..$salt$key.
func encodePHC(p params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses a PHC string produced by encodePHC (or by a future
// version with other costs) and checks its parameters against the bounds.
func decodePHC(phc string) (params, []byte, []byte, error) {
	var p params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 '$'-separated fields", ErrInvalidHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q", ErrInvalidHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrInvalidHash, parts[2])
	}
	if err := p.parseCosts(parts[3]); err != nil {
		return p, nil, nil, err
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSalt || len(salt) > maxSalt {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrInvalidHash)
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKey || len(key) > maxKey {
		return p, nil, nil, fmt.Errorf("%w: key", ErrInvalidHash)
	}
	p.saltLen, p.keyLen = len(salt), len(key)
	return p, salt, key, nil
}

// parseCosts parses "m=<KiB>,t=<passes>,p=<lanes>" in that order.
func (p *params) parseCosts(s string) error {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return fmt.Errorf("%w: parameters %q", ErrInvalidHash, s)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return fmt.Errorf("%w: parameters %q", ErrInvalidHash, s)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("%w: parameter %s: %w", ErrInvalidHash, name, err)
		}
		vals[i] = n
	}
	m, t, threads := vals[0], vals[1], vals[2]
	if threads < 1 || threads > 255 || t < 1 || t > maxTime || m < 8*threads || m > maxMemory {
		return fmt.Errorf("%w: parameters %q out of range", ErrInvalidHash, s)
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(threads)
	return nil
}
