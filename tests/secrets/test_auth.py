"""Login methods against a real OpenBao: token, AppRole, JWT, Kubernetes; renewal; re-login."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.secrets.conftest import ResolverFactory, unique, vault_ref
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.secrets import (
    SecretAccessDenied,
    VaultAuthenticationError,
    VaultConfigError,
)
from acumatica_datasource.spec import (
    AppRoleAuth,
    CredentialSource,
    JwtAuth,
    KubernetesAuth,
    TokenAuth,
    VaultSettings,
)

ISSUER = "https://ci.example.com"
AUDIENCE = "https://vault.example.com"
SERVICE_ACCOUNT_UID = "5a1c7a3e-0000-4000-8000-000000000001"


class FakeClock:
    """Monotonic seconds that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reader(bao: OpenBaoServer, leaks: LeakGuard, keys: int = 1) -> tuple[str, str, list[str]]:
    """A fresh KV v2 secret and a policy that may read it: ``(path, policy, values)``."""
    path = unique("auth")
    values = [leaks.fresh() for _ in range(keys)]
    bao.put(path, {f"k{i}": v for i, v in enumerate(values)})
    policy = f"read-{path}"
    bao.policy(policy, f'path "secret/data/{path}*" {{ capabilities = ["read"] }}')
    return path, policy, values


# -- token ----------------------------------------------------------------------------------


def test_token_from_vault_token(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    token = bao.token([policy])
    resolver = make_resolver(VaultSettings(address=bao.address), env={"VAULT_TOKEN": token})
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == value


def test_bao_token_wins_over_vault_token(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    token = bao.token([policy])
    bogus = leaks.fresh("hvs.bogus")
    env = {"BAO_ADDR": bao.address, "BAO_TOKEN": token, "VAULT_TOKEN": bogus}
    assert make_resolver(None, env=env).resolve(vault_ref(path, "k0")).value.reveal() == value


def test_token_from_configured_file(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard, tmp_path: Path
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    token_file = tmp_path / "token"
    token_file.write_text(bao.token([policy]) + "\n")
    settings = VaultSettings(
        address=bao.address,
        auth=TokenAuth(method="token", token=CredentialSource(file=str(token_file))),
    )
    assert make_resolver(settings).resolve(vault_ref(path, "k0")).value.reveal() == value


def test_token_from_home_vault_token_is_read_never_written(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard, home: Path
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    token = bao.token([policy])
    token_file = home / ".vault-token"
    token_file.write_text(token)
    leaks.vault_token_file = token
    before = token_file.stat().st_mtime_ns
    resolver = make_resolver(VaultSettings(address=bao.address))
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == value
    assert token_file.read_text() == token and token_file.stat().st_mtime_ns == before


def test_no_token_anywhere(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard, home: Path
) -> None:
    resolver = make_resolver(VaultSettings(address=bao.address))
    with leaks.raises(VaultAuthenticationError) as info:
        resolver.resolve(vault_ref("app", "password"))
    message = str(info.value)
    assert message.startswith("vault:secret/app#password: no Vault token")
    assert "BAO_TOKEN" in message and str(home / ".vault-token") in message


def test_bad_token(bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard) -> None:
    bogus = leaks.fresh("s.bogus")
    resolver = make_resolver(VaultSettings(address=bao.address), env={"VAULT_TOKEN": bogus})
    with leaks.raises(VaultAuthenticationError) as info:
        resolver.resolve(vault_ref("app", "password"))
    assert "vault:secret/app#password" in str(info.value)
    assert "invalid, expired or revoked" in str(info.value) and "env:VAULT_TOKEN" in str(info.value)


def test_policy_denies_the_path(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, _policy, _values = reader(bao, leaks)
    _other, other_policy, _ = reader(bao, leaks)
    token = bao.token([other_policy])
    resolver = make_resolver(VaultSettings(address=bao.address), env={"VAULT_TOKEN": token})
    with leaks.raises(SecretAccessDenied) as info:
        resolver.resolve(vault_ref(path, "k0"))
    message = str(info.value)
    assert message.startswith(f"vault:secret/{path}#k0: permission denied")
    assert f'path "secret/data/{path}"' in message and '["read"]' in message


def test_static_token_revoked_mid_run(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, policy, (value, _second) = reader(bao, leaks, keys=2)
    token = bao.token([policy])
    resolver = make_resolver(VaultSettings(address=bao.address), env={"VAULT_TOKEN": token})
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == value
    bao.revoke(token)
    with leaks.raises(VaultAuthenticationError) as info:
        resolver.resolve(vault_ref(path, "k1", version=1))
    assert "no longer accepts a token from env:VAULT_TOKEN" in str(info.value)
    assert "revoked or has expired" in str(info.value)


def test_renewable_token_is_renewed_near_its_ttl(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, policy, (value, second) = reader(bao, leaks, keys=2)
    token = bao.token([policy], ttl="60s")
    clock = FakeClock()
    resolver = make_resolver(
        VaultSettings(address=bao.address), env={"VAULT_TOKEN": token}, clock=clock
    )
    renewals = bao.audited_requests("auth/token/renew-self")
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == value
    clock.now += 30  # half the TTL: nothing to do
    resolver.resolve(vault_ref(path, "k1", version=1))
    assert bao.audited_requests("auth/token/renew-self") == renewals
    clock.now += 15  # 45 s of 60: renew before the next request
    bao.put(f"{path}-b", {"k": leaks.fresh()})
    resolver.resolve(vault_ref(f"{path}-b", "k"))
    assert bao.audited_requests("auth/token/renew-self") == renewals + 1
    assert resolver.logins == 1
    assert resolver.resolve(vault_ref(path, "k1")).value.reveal() == second


# -- AppRole --------------------------------------------------------------------------------


def test_approle_login_once_for_many_reads(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard, tmp_path: Path
) -> None:
    path, policy, values = reader(bao, leaks, keys=3)
    mount = unique("approle")
    role_id, secret_id = bao.approle("ci", [policy], mount=mount)
    role_file = tmp_path / "role-id"
    role_file.write_text(role_id)
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle",
            role_id=CredentialSource(file=str(role_file)),
            secret_id=CredentialSource(env="APPROLE_SECRET_ID"),
            mount=mount,
        ),
    )
    resolver = make_resolver(settings, env={"APPROLE_SECRET_ID": secret_id})
    for i, value in enumerate(values):
        assert resolver.resolve(vault_ref(path, f"k{i}")).value.reveal() == value
    assert resolver.logins == 1
    assert bao.audited_requests(f"auth/{mount}/login") == 1


def test_approle_bad_secret_id(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    mount = unique("approle")
    role_id, _secret_id = bao.approle("ci", ["default"], mount=mount)
    wrong = leaks.fresh("secret-id")
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle",
            role_id=role_id,
            secret_id=CredentialSource(env="SID"),
            mount=mount,
        ),
    )
    resolver = make_resolver(settings, env={"SID": wrong})
    with leaks.raises(VaultAuthenticationError) as info:
        resolver.resolve(vault_ref("app", "password"))
    message = str(info.value)
    assert message.startswith("vault:secret/app#password: ")
    assert f"refused the login with AppRole (auth/{mount}" in message
    assert "secret id from env:SID" in message


def test_approle_missing_credential_source(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(method="approle", role_id="r", secret_id=CredentialSource(env="SID")),
    )
    with leaks.raises(VaultConfigError, match="environment variable SID, which is not set"):
        make_resolver(settings).resolve(vault_ref("app", "password"))


def test_auth_method_not_enabled(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle", role_id="r", secret_id=CredentialSource(env="SID"), mount="nowhere"
        ),
    )
    resolver = make_resolver(settings, env={"SID": leaks.fresh()})
    # Vault answers an unknown login path like rejected credentials (403): the message says so.
    with leaks.raises(VaultAuthenticationError, match="no auth method is enabled at auth/nowhere"):
        resolver.resolve(vault_ref("app", "password"))


def test_approle_token_revoked_mid_run_logs_in_again(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, policy, (first, second) = reader(bao, leaks, keys=2)
    mount = unique("approle")
    role_id, secret_id = bao.approle("ci", [policy], mount=mount)
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle", role_id=role_id, secret_id=CredentialSource(env="SID"), mount=mount
        ),
    )
    resolver = make_resolver(settings, env={"SID": secret_id})
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == first
    bao.admin.sys.revoke_prefix(f"auth/{mount}/login")  # revokes every token of that login
    assert resolver.resolve(vault_ref(path, "k1", version=1)).value.reveal() == second
    assert resolver.logins == 2


def test_non_renewable_token_logs_in_again(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    """Batch tokens cannot be renewed: near the end of the TTL the resolver logs in again."""
    path, policy, (first, second) = reader(bao, leaks, keys=2)
    mount = unique("approle")
    role_id, secret_id = bao.approle(
        "ci", [policy], mount=mount, token_type="batch", token_ttl="30s", secret_id_num_uses=0
    )
    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle", role_id=role_id, secret_id=CredentialSource(env="SID"), mount=mount
        ),
    )
    clock = FakeClock()
    resolver = make_resolver(settings, env={"SID": secret_id}, clock=clock)
    assert resolver.resolve(vault_ref(path, "k0")).value.reveal() == first
    clock.now += 25
    assert resolver.resolve(vault_ref(path, "k1", version=1)).value.reveal() == second
    assert resolver.logins == 2
    assert bao.audited_requests("auth/token/renew-self") >= 0  # batch: never renewed


# -- JWT ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jwt_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwt_mount(bao: OpenBaoServer, jwt_key: rsa.RSAPrivateKey) -> str:
    """A JWT auth method trusting ``jwt_key``, as for a CI's OIDC identity tokens."""
    mount = unique("jwt")
    bao.enable_auth("jwt", mount)
    public = (
        jwt_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    bao.admin.adapter.post(
        f"/v1/auth/{mount}/config",
        json={"jwt_validation_pubkeys": [public], "bound_issuer": ISSUER},
    )
    return mount


def ci_token(key: rsa.RSAPrivateKey, leaks: LeakGuard, **claims: object) -> str:
    import time

    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "repo:acme/infra:ref:refs/heads/main",
        "repository": "acme/infra",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        **claims,
    }
    token = jwt.encode(payload, key, algorithm="RS256", headers={"kid": "ci"})
    leaks.add(token)
    return token


def test_jwt_login(
    bao: OpenBaoServer,
    jwt_key: rsa.RSAPrivateKey,
    jwt_mount: str,
    make_resolver: ResolverFactory,
    leaks: LeakGuard,
    tmp_path: Path,
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    role = unique("deploy")
    bao.admin.adapter.post(
        f"/v1/auth/{jwt_mount}/role/{role}",
        json={
            "role_type": "jwt",
            "bound_audiences": [AUDIENCE],
            "user_claim": "sub",
            "bound_claims": {"repository": "acme/infra"},
            "token_policies": [policy],
            "token_ttl": "10m",
        },
    )
    token_file = tmp_path / "id-token"
    token_file.write_text(ci_token(jwt_key, leaks))
    settings = VaultSettings(
        address=bao.address,
        auth=JwtAuth(
            method="jwt", role=role, token=CredentialSource(file=str(token_file)), mount=jwt_mount
        ),
    )
    assert make_resolver(settings).resolve(vault_ref(path, "k0")).value.reveal() == value

    # A token for another audience is refused, with a message that names the method.
    settings_env = VaultSettings(
        address=bao.address,
        auth=JwtAuth(
            method="jwt", role=role, token=CredentialSource(env="CI_JWT"), mount=jwt_mount
        ),
    )
    wrong = ci_token(jwt_key, leaks, aud="https://elsewhere.example.com")
    with leaks.raises(VaultAuthenticationError) as info:
        make_resolver(settings_env, env={"CI_JWT": wrong}).resolve(vault_ref(path, "k0"))
    assert f"JWT (auth/{jwt_mount}, role {role}, token from env:CI_JWT)" in str(info.value)


def test_jwt_signed_by_another_key(
    bao: OpenBaoServer, jwt_mount: str, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    role = unique("deploy")
    bao.admin.adapter.post(
        f"/v1/auth/{jwt_mount}/role/{role}",
        json={"role_type": "jwt", "bound_audiences": [AUDIENCE], "user_claim": "sub"},
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = VaultSettings(
        address=bao.address,
        auth=JwtAuth(
            method="jwt", role=role, token=CredentialSource(env="CI_JWT"), mount=jwt_mount
        ),
    )
    resolver = make_resolver(settings, env={"CI_JWT": ci_token(stranger, leaks)})
    with leaks.raises(VaultAuthenticationError, match="refused the login with JWT"):
        resolver.resolve(vault_ref("app", "password"))


# -- Kubernetes -----------------------------------------------------------------------------


class _TokenReview(BaseHTTPRequestHandler):
    """Answers TokenReview like the Kubernetes API server would.

    There is no Kubernetes cluster here; this loopback server stands in for its API server,
    which the kubernetes auth method calls to validate a service-account token.
    """

    valid: ClassVar[dict[str, tuple[str, str]]] = {}  # token -> (namespace, service account)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = body.get("spec", {}).get("token", "")
        account = self.valid.get(token)
        status: dict[str, object] = {"authenticated": False}
        if account is not None:
            status = {
                "authenticated": True,
                "user": {
                    "username": f"system:serviceaccount:{account[0]}:{account[1]}",
                    "uid": SERVICE_ACCOUNT_UID,
                    "groups": ["system:serviceaccounts"],
                },
            }
        data = json.dumps(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def kubernetes_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenReview)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_kubernetes_login(
    bao: OpenBaoServer,
    kubernetes_api: str,
    make_resolver: ResolverFactory,
    leaks: LeakGuard,
    tmp_path: Path,
) -> None:
    path, policy, (value,) = reader(bao, leaks)
    mount = unique("kubernetes")
    bao.enable_auth("kubernetes", mount)
    # kubernetes_ca_cert is required by the plugin; the stand-in API is plain HTTP.
    some_ca = Path(bao.workdir).parent / "k8s-ca.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    some_ca.write_text(_self_signed_pem(key))
    bao.admin.adapter.post(
        f"/v1/auth/{mount}/config",
        json={
            "kubernetes_host": kubernetes_api,
            "disable_local_ca_jwt": True,
            "kubernetes_ca_cert": some_ca.read_text(),
        },
    )
    bao.admin.adapter.post(
        f"/v1/auth/{mount}/role/app",
        json={
            "bound_service_account_names": ["acumatica-ds"],
            "bound_service_account_namespaces": ["deploy"],
            "token_policies": [policy],
        },
    )
    sa_token = jwt.encode(
        {
            "iss": "kubernetes/serviceaccount",
            "sub": "system:serviceaccount:deploy:acumatica-ds",
            "kubernetes.io/serviceaccount/namespace": "deploy",
            "kubernetes.io/serviceaccount/service-account.name": "acumatica-ds",
            "kubernetes.io/serviceaccount/service-account.uid": SERVICE_ACCOUNT_UID,
        },
        key,
        algorithm="RS256",
    )
    leaks.add(sa_token)
    _TokenReview.valid[sa_token] = ("deploy", "acumatica-ds")
    token_file = tmp_path / "sa-token"
    token_file.write_text(sa_token)
    settings = VaultSettings(
        address=bao.address,
        auth=KubernetesAuth(
            method="kubernetes", role="app", token_file=str(token_file), mount=mount
        ),
    )
    assert make_resolver(settings).resolve(vault_ref(path, "k0")).value.reveal() == value

    # The API server says the token is not authenticated: a clear login error.
    del _TokenReview.valid[sa_token]
    with leaks.raises(VaultAuthenticationError) as info:
        make_resolver(settings).resolve(vault_ref(path, "k0"))
    assert f"Kubernetes (auth/{mount}, role app, token file {token_file})" in str(info.value)


def _self_signed_pem(key: rsa.RSAPrivateKey) -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
