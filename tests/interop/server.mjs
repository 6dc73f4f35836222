// A real OAuth 2.0 authorization server (oidc-provider, pinned in package-lock.json) for
// cctoken's interop tests. Listens on https://127.0.0.1:<random port>, prints ONE JSON line on
// stdout describing itself (see README.md), logs to stderr, and exits when stdin closes or on
// SIGTERM/SIGINT. Every key, certificate and secret is generated at start and lives in memory
// only.
//
//   npm ci --prefix tests/interop      # once
//   node tests/interop/server.mjs      # prints {"issuer": ..., "clients": {...}}

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

// oidc-provider prints its NOTICEs with console.info, i.e. to stdout; stdout carries the JSON
// line only, so everything else goes to stderr. Set before oidc-provider is imported.
const log = (...args) => console.error('[interop]', ...args);
console.log = console.info = console.debug = (...args) => console.error(...args);

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------------
// Lifecycle: die with the parent.

let server;
function shutdown(code) {
  try {
    server?.closeAllConnections?.();
  } catch {}
  process.exit(code);
}
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));

// ---------------------------------------------------------------------------------------------
// Settings (environment overrides for other suites).

/** Lifetime of the `short-lived` client's tokens, seconds. */
const SHORT_TTL = Number(process.env.INTEROP_SHORT_TTL || 4);
/** Lifetime of every other client-credentials token, seconds. */
const DEFAULT_TTL = 600;

// ---------------------------------------------------------------------------------------------
// PKI: a CA, the server's certificate, a CA-issued client certificate (tls_client_auth) and a
// self-signed one (self_signed_tls_client_auth), made with the openssl CLI in a temporary
// directory that is removed before the server listens.

function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cctoken-interop-'));
  const f = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const serial = () => `0x${crypto.randomBytes(8).toString('hex')}`;
  try {
    openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-sha256',
      '-subj', '/CN=cctoken interop CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

    const issue = (name, subject, ext) => {
      openssl('req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
      fs.writeFileSync(f(`${name}.ext`), ext);
      openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
        '-set_serial', serial(), '-days', '2', '-sha256', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`));
    };
    issue('server', '/CN=127.0.0.1', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'));
    issue('tls-client', '/CN=tls-client', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
      'subjectAltName=DNS:tls-client.interop.test',
      '',
    ].join('\n'));
    openssl('req', '-x509', ...ec, '-keyout', f('self-signed.key'), '-out', f('self-signed.pem'), '-days', '2',
      '-sha256', '-subj', '/CN=self-signed-client',
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=clientAuth');

    const read = (name) => fs.readFileSync(f(name), 'utf8');
    return {
      ca: read('ca.pem'),
      server: { cert: read('server.pem'), key: read('server.key') },
      tls: { cert: read('tls-client.pem'), key: read('tls-client.key') },
      selfSigned: { cert: read('self-signed.pem'), key: read('self-signed.key') },
    };
  } catch (e) {
    throw new Error(`openssl failed: ${e.stderr?.toString() || e.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** RFC 8705 `x5t#S256`: base64url SHA-256 of the certificate's DER. */
const x5tS256 = (pem) => crypto.hash('sha256', new crypto.X509Certificate(pem).raw, 'base64url');
/** base64 DER, as in a JWK `x5c`. */
const derB64 = (pem) => new crypto.X509Certificate(pem).raw.toString('base64');

const pki = makePki();

// ---------------------------------------------------------------------------------------------
// Keys for private_key_jwt: one key pair per algorithm. The private halves are handed to the
// tests (PEM PKCS#8 and JWK); the server registers the public JWKs.

function keyPair(alg) {
  const spec = {
    RS256: ['rsa', { modulusLength: 2048 }],
    PS256: ['rsa', { modulusLength: 2048 }],
    ES256: ['ec', { namedCurve: 'P-256' }],
    EdDSA: ['ed25519', {}],
  }[alg];
  const { publicKey, privateKey } = crypto.generateKeyPairSync(...spec);
  const kid = `${alg.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}`;
  return {
    kid,
    alg,
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    privateJwk: { ...privateKey.export({ format: 'jwk' }), kid, alg },
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

const secret = (bytes = 32) => crypto.randomBytes(bytes).toString('base64url');

// ---------------------------------------------------------------------------------------------
// Resource servers (RFC 8707). A token request without `resource` gets DEFAULT_RESOURCE, so
// every client-credentials token carries an audience that introspection reports.

const RESOURCES = {
  default: { resource: 'https://api.interop.test/default', audience: 'https://api.interop.test/default' },
  a: { resource: 'https://api.interop.test/a', audience: 'https://api.interop.test/a' },
  b: { resource: 'https://api.interop.test/b', audience: 'urn:interop:api-b' },
  // Tokens for this one are JWTs (oidc-provider refuses to introspect structured tokens).
  jwt: { resource: 'https://api.interop.test/jwt', audience: 'urn:interop:api-jwt' },
};
const RESOURCE_SCOPE = 'read write admin';

// ---------------------------------------------------------------------------------------------
// Clients: one per authentication method (and per private_key_jwt algorithm), plus special cases.

const ALLOWED_SCOPE = 'read write';
const base = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: ALLOWED_SCOPE,
};

const described = {}; // what the tests get, by name
const registered = []; // what oidc-provider gets

function add(name, metadata, extra) {
  registered.push({ ...base, client_id: name, ...metadata });
  described[name] = {
    client_id: name,
    auth_method: metadata.token_endpoint_auth_method,
    scope: metadata.scope ?? ALLOWED_SCOPE,
    ...(metadata.client_secret ? { client_secret: metadata.client_secret } : {}),
    ...extra,
  };
}

// A secret with every character RFC 6749 §2.3.1 form-encoding changes, and a space: catches a
// client that does not form-encode Basic credentials.
add('basic', { token_endpoint_auth_method: 'client_secret_basic', client_secret: `p+/=%:! x-${secret(12)}` });
add('post', { token_endpoint_auth_method: 'client_secret_post', client_secret: `p+/=%:! x-${secret(12)}` });
add('secret-jwt', {
  token_endpoint_auth_method: 'client_secret_jwt',
  token_endpoint_auth_signing_alg: 'HS256',
  client_secret: secret(48),
}, { alg: 'HS256' });

for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
  const k = keyPair(alg);
  add(`pkjwt-${alg.toLowerCase()}`, {
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: alg,
    jwks: { keys: [k.publicJwk] },
  }, { alg, kid: k.kid, private_key_pem: k.pem, private_key_jwk: k.privateJwk });
}

add('tls', {
  token_endpoint_auth_method: 'tls_client_auth',
  tls_client_auth_subject_dn: 'CN=tls-client',
  tls_client_certificate_bound_access_tokens: true,
}, { cert_pem: pki.tls.cert, key_pem: pki.tls.key, cert_x5t_s256: x5tS256(pki.tls.cert) });

{
  const jwk = {
    ...new crypto.X509Certificate(pki.selfSigned.cert).publicKey.export({ format: 'jwk' }),
    x5c: [derB64(pki.selfSigned.cert)],
  };
  add('self-signed-tls', {
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    jwks: { keys: [jwk] },
    tls_client_certificate_bound_access_tokens: true,
  }, {
    cert_pem: pki.selfSigned.cert,
    key_pem: pki.selfSigned.key,
    cert_x5t_s256: x5tS256(pki.selfSigned.cert),
  });
}

// DPoP: the server requires a DPoP nonce from this client (use_dpop_nonce challenge first),
// and refuses its requests without a DPoP proof.
add('dpop-nonce', {
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: secret(),
  dpop_bound_access_tokens: true,
});
// Tokens that expire after SHORT_TTL seconds.
add('short-lived', { token_endpoint_auth_method: 'client_secret_basic', client_secret: secret() },
  { token_lifetime: SHORT_TTL });
// Resource indicator tests (kept apart so request counts are the test's own).
add('resources', { token_endpoint_auth_method: 'client_secret_basic', client_secret: secret() });
// Allowed every scope the server knows.
add('all-scopes', {
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: secret(),
  scope: 'read write admin',
});
// Not allowed the client_credentials grant.
add('no-cc-grant', {
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: secret(),
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['https://client.interop.test/cb'],
});
// Calls the introspection endpoint.
add('introspector', { token_endpoint_auth_method: 'client_secret_basic', client_secret: secret() });

// ---------------------------------------------------------------------------------------------
// Counters, for tests that check what went over the wire.

const stats = { token_requests: {}, token_errors: {} };
const bump = (obj, key) => { obj[key] = (obj[key] || 0) + 1; };

// ---------------------------------------------------------------------------------------------
// The provider, behind node's own HTTPS server (client certificates requested, never required:
// oidc-provider decides from the peer certificate).

const providerKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function configuration() {
  return {
    clients: registered,
    scopes: ['openid', 'offline_access', 'read', 'write', 'admin'],
    jwks: { keys: [{ ...providerKey.export({ format: 'jwk' }), kid: 'provider-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [secret()] },
    clientAuthMethods: [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
    ],
    ttl: {
      ClientCredentials(ctx, token, client) {
        if (client.clientId === 'short-lived') return SHORT_TTL;
        return token.resourceServer?.accessTokenTTL || DEFAULT_TTL;
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // The `introspector` client may introspect any token; other clients only their own.
        allowedPolicy: (ctx, client, token) => client.clientId === 'introspector' || client.clientId === token.clientId,
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource(ctx, client, oneOf) {
          if (oneOf) return oneOf;
          return ctx.oidc.params?.grant_type === 'client_credentials' ? RESOURCES.default.resource : undefined;
        },
        useGrantedResource: () => false,
        getResourceServerInfo(ctx, resourceIndicator) {
          const known = Object.values(RESOURCES).find((r) => r.resource === resourceIndicator);
          if (!known) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPE,
            audience: known.audience,
            accessTokenFormat: known === RESOURCES.jwt ? 'jwt' : 'opaque',
            ...(known === RESOURCES.jwt ? { jwt: { sign: { alg: 'RS256' } } } : {}),
          };
        },
      },
      dPoP: {
        enabled: true,
        nonceSecret: crypto.randomBytes(32),
        requireNonce: (ctx) => ctx.oidc.client?.clientId === 'dpop-nonce',
      },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => ctx.socket.getPeerX509Certificate?.() || undefined,
        certificateAuthorized: (ctx) => ctx.socket.authorized === true,
        certificateSubjectMatches(ctx, property, expected) {
          const cert = ctx.socket.getPeerX509Certificate();
          switch (property) {
            case 'tls_client_auth_subject_dn':
              return cert.subject.split('\n').join(',') === expected;
            case 'tls_client_auth_san_dns':
              return (cert.subjectAltName || '').split(', ').includes(`DNS:${expected}`);
            default:
              return false;
          }
        },
      },
    },
  };
}

const clientCertRequested = {
  key: pki.server.key,
  cert: pki.server.cert,
  ca: pki.ca,
  requestCert: true,
  rejectUnauthorized: false, // self-signed client certificates must get through to the provider
};

let handler;
server = https.createServer(clientCertRequested, (req, res) => {
  if (req.method === 'GET' && req.url === '/_interop/stats') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(stats));
    return;
  }
  handler(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration());
  provider.on('grant.success', (ctx) => bump(stats.token_requests, ctx.oidc.client?.clientId ?? '?'));
  provider.on('grant.error', (ctx, err) => {
    const id = ctx.oidc?.client?.clientId ?? ctx.oidc?.params?.client_id ?? '?';
    bump((stats.token_errors[id] ||= {}), err.error || err.message);
    log(`token error for ${id}: ${err.error} (${err.error_description}; ${err.error_detail ?? ''})`);
  });
  provider.on('server_error', (ctx, err) => log('server_error', err));
  handler = provider.callback();

  const line = {
    issuer,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/token/introspection`,
    revocation_endpoint: `${issuer}/token/revocation`,
    discovery_endpoint: `${issuer}/.well-known/openid-configuration`,
    stats_endpoint: `${issuer}/_interop/stats`,
    ca_pem: pki.ca,
    resources: RESOURCES,
    default_token_lifetime: DEFAULT_TTL,
    clients: described,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  log(`oidc-provider listening at ${issuer}`);
});
