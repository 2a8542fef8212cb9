package channels

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeyBox keeps stream keys so that a copy of the database alone reveals none: the key is
// sealed with AES-256-GCM for showing it to its owner, and looked up by an HMAC of it when an
// encoder presents it. The server key lives outside the database (config or the data dir).
type KeyBox struct {
	aead   cipher.AEAD
	macKey []byte
}

// NewKeyBox derives the sealing and lookup keys from a 32-byte server secret.
func NewKeyBox(secret []byte) (*KeyBox, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("server secret must be 32 bytes, got %d", len(secret))
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("livehouse stream key seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeyBox{aead: aead, macKey: derive("livehouse stream key lookup")}, nil
}

// Hash is the lookup form of a key: deterministic, not reversible without the server secret.
func (b *KeyBox) Hash(key string) string {
	m := hmac.New(sha256.New, b.macKey)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encrypts a key for storage.
func (b *KeyBox) Seal(key string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(key), nil))
}

// Open decrypts a sealed key.
func (b *KeyBox) Open(sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("sealed stream key is malformed")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", fmt.Errorf("opening sealed stream key (wrong server secret?): %w", err)
	}
	return string(plain), nil
}
