package generator

import (
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
