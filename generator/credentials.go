package generator

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// credentialWords are the last words of names that hold credentials.
var credentialWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true,
	"secret": true, "token": true, "key": true, "apikey": true, "credential": true,
	"credentials": true, "salt": true,
}

// genericWords alone name a field, not a credential: Kubernetes' "key"
// (secretKeyRef.key, items[].key, a toleration's key) and the like.
var genericWords = map[string]bool{"key": true, "secret": true, "pass": true, "salt": true, "token": true}

// CredentialName reports whether a variable or setting name looks like it
// holds a credential: its last word (split at _ - . and case changes) is
// password, secret, token, key, salt... and it does not say "public".
// SECRET_KEY, EMAIL_HOST_PASSWORD and apiToken do; SECRET_NAME,
// REQUIRED_SECRET_0_FROM, PUBLIC_KEY and a bare "key" do not.
func CredentialName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if w == "public" {
			return false
		}
	}
	if len(words) == 1 && genericWords[words[0]] {
		return false
	}
	return credentialWords[words[len(words)-1]]
}

func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(runes[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

// secretWords are the last words of names that certainly hold a secret.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "passphrase": true, "secret": true,
	"token": true, "credential": true, "credentials": true, "salt": true, "apikey": true,
}

// secretKeyQualifiers make a last word "key" a secret: SECRET_KEY,
// AWS_SECRET_ACCESS_KEY, MAILGUN_API_KEY, a signing or private key.
var secretKeyQualifiers = map[string]bool{"secret": true, "private": true, "access": true, "api": true, "signing": true, "encryption": true, "master": true, "auth": true}

// notSecretWords mark keys meant to be public: RECAPTCHA_SITE_KEY,
// STRIPE_PUBLISHABLE_KEY, PUBLIC_KEY.
var notSecretWords = map[string]bool{"public": true, "publishable": true, "site": true}

// SecretSettingName reports whether a setting name holds a secret, for
// validation, which refuses it: the evidence must be stronger than for
// CredentialName, which only flags a change for review. A last word "key"
// counts only after secret, private, access, api..., and a name that says
// public, publishable or site is never a secret. For browser settings
// (served to every visitor, so never secret to begin with) tokens and API
// keys are allowed: only passwords, secrets, credentials and private keys
// are refused.
func SecretSettingName(name string, browser bool) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if notSecretWords[w] {
			return false
		}
	}
	last := words[len(words)-1]
	if browser {
		switch last {
		case "password", "passwd", "pwd", "passphrase", "secret", "credential", "credentials":
			return true
		case "key":
			return len(words) > 1 && (words[len(words)-2] == "private" || words[len(words)-2] == "secret")
		}
		return false
	}
	if last == "key" {
		return len(words) > 1 && secretKeyQualifiers[words[len(words)-2]]
	}
	return secretWords[last] && !(len(words) == 1 && genericWords[last])
}

// secretInside returns the path, inside a setting's JSON value, of the
// first mapping key that names a secret and holds a non-empty string
// (CACHES: {default: {OPTIONS: {PASSWORD: ...}}}), or "".
func secretInside(raw json.RawMessage, browser bool) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var walk func(v any, p string) string
	walk = func(v any, p string) string {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if s, ok := t[k].(string); ok && s != "" && SecretSettingName(k, browser) {
					return p + "." + k
				}
				if r := walk(t[k], p+"."+k); r != "" {
					return r
				}
			}
		case []any:
			for i, e := range t {
				if r := walk(e, fmt.Sprintf("%s[%d]", p, i)); r != "" {
					return r
				}
			}
		}
		return ""
	}
	return walk(v, "")
}
