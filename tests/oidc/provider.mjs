// A second, independent OpenID Connect provider for the e-identity tests: panva's oidc-provider
// (the certified Node.js implementation), on loopback, with its development login and consent
// pages (devInteractions: plain HTML forms, any password). Started by tests/oidc_provider.py:
//
//   PORT=…  OIDC_CLIENTS='[{"client_id": …, "client_secret": …, "redirect_uris": […]}]'  node provider.mjs
//
// It prints "listening <issuer>" once it accepts connections. Node 20 may print a warning that
// the runtime is unsupported; it is harmless.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
if (!port) {
  console.error('PORT is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// The test persons: the login name on the provider's page is the key. Claims as a Latvija.lv-style
// broker sends them: the personal code in the certificate's ETSI form under serial_number.
const ACCOUNTS = {
  janis: { name: 'Jānis Bērziņš', given_name: 'Jānis', family_name: 'Bērziņš', serial_number: 'PNOLV-010185-10001' },
  liga: { name: 'Līga Ozola', given_name: 'Līga', family_name: 'Ozola', serial_number: 'PNOLV-020279-10002' },
  peteris: {
    name: 'Pēteris Kalniņš', given_name: 'Pēteris', family_name: 'Kalniņš', serial_number: 'PNOLV-030390-10003',
    phone_number: '+37120000033', phone_number_verified: true,
  },
  ilze: { name: 'Ilze Jaunā', given_name: 'Ilze', family_name: 'Jaunā', serial_number: 'PNOLV-040495-10004' },
  anna: {
    name: 'Anna Darbiniece', given_name: 'Anna', family_name: 'Darbiniece', serial_number: 'PNOLV-050596-10005',
    phone_number: '+37120000055', phone_number_verified: true,
  },
  // a phone number the provider has not verified: it must not find an invitation
  olga: {
    name: 'Olga Nepārbaudītā', given_name: 'Olga', family_name: 'Nepārbaudītā', serial_number: 'PNOLV-060697-10006',
    phone_number: '+37120000066', phone_number_verified: false,
  },
  // an identity whose token carries no personal code (e.g. a foreign e-ID without one)
  nocode: { name: 'No Code', given_name: 'No', family_name: 'Code' },
};

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  ...client,
}));

const configuration = {
  clients,
  // The portal always sends an S256 challenge; refuse any request without one.
  pkce: { required: () => true },
  // Profile claims (the personal code among them) in the ID token itself, as the brokers do.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'serial_number'],
    phone: ['phone_number', 'phone_number_verified'],
  },
  scopes: ['openid', 'profile', 'phone'],
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['kabinets-test-provider-cookie-key'] },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  async findAccount(ctx, id) {
    const claims = ACCOUNTS[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, acr: 'http://eidas.europa.eu/LoA/high', ...claims };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oidc-provider error</title></head><body><h1 id="op-error">${
      String(out.error).replace(/[<&>"]/g, '')}</h1><p>${String(out.error_description || '').replace(/[<&>"]/g, '')
    }</p></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
