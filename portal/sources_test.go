package portal

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An admin pastes a service-account key file as downloaded and names the admin to act as in its
// own field; a missing piece is shown beside the field it concerns.
func TestAdminAddsGoogleSourceWithServiceAccountKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "paved-test", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "paved@paved-test.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
	}, "", "  ")

	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/admin/sources", "devidp-admin")
	form := url.Values{"kind": {"google"}, "name": {"workspace"}, "base_url": {"https://admin.googleapis.com"}, "secret": {string(keyFile)}}
	p := br.post(env.base+"/admin/sources", form)
	if body := html.UnescapeString(p.body); p.status != http.StatusBadRequest || !strings.Contains(body, `id="s-subject-error"`) || strings.Contains(body, "PRIVATE KEY") {
		t.Fatalf("key without subject: %d, want 400 with the error beside the subject field and no key in the page", p.status)
	}
	form.Set("subject", "admin@northwind.example")
	if p := br.post(env.base+"/admin/sources", form); p.status != http.StatusOK || !strings.Contains(p.body, "workspace") || strings.Contains(p.body, "PRIVATE KEY") {
		t.Fatalf("key with subject: %d", p.status)
	}
	if p := br.post(env.base+"/admin/sources", url.Values{"kind": {"entra"}, "name": {"tenant"}, "base_url": {"https://graph.microsoft.com"},
		"secret": {`{"tenant_id":"t1","client_secret":"s3cret-value"}`}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="s-secret-error"`) || !strings.Contains(p.body, "client_id") || strings.Contains(p.body, "s3cret-value") {
		t.Errorf("incomplete Entra credentials: %d", p.status)
	}
}
