"""SigV4 on the Step Functions API (POST /) against a real sagad, signed by
the AWS CLI (Debian awscli) with keys from its own config files: matching
keys are let in, a wrong secret is InvalidSignatureException, an unknown key
UnrecognizedClientException, a key whose entry lacks the scope
AccessDeniedException; the AWS SDK for JavaScript v3 signing every action
(tests/aws/sfn.mjs); plus an unsigned request, an expired signature (signed
here with the standard library), a bearer token, reload on SIGHUP, the
refusal of a readable file holding secrets, and auth off."""
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import Daemon, DaemonTestCase

AWS = shutil.which("aws", path="/usr/bin") or shutil.which("aws")
AWS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws")
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
ROLE = "arn:aws:iam::000000000000:role/sagad"

# name: (scopes, bearer token, access key id, secret)
ENTRIES = {
    "ops": ("admin", "ops-token-1", "AKIAOPS0000000000001", "ops/Secret+0123456789abcdefghijklmnop"),
    "viewer": ("read", "viewer-token-2", "AKIAVIEWER0000000002", "viewerSecret0123456789abcdefghijklmn"),
    "shop": ("start,read", "shop-token-3", None, None),
}


def tokens_text(entries):
    out = "# who may call sagad; holds SigV4 secrets: mode 0600\n"
    for name, (scopes, token, key, secret) in entries.items():
        out += "%s %s sha256:%s%s\n" % (name, scopes, hashlib.sha256(token.encode()).hexdigest(),
                                        " sigv4:%s:%s" % (key, secret) if key else "")
    return out


def sign(method, host, target, body, key, secret, when, region="local", query=""):
    """The headers of a request signed as AWS's signers do, at `when`;
    `query` is the canonical query string (already sorted and encoded)."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": "application/x-amz-json-1.0", "host": host,
               "x-amz-date": stamp, "x-amz-target": target}
    names = sorted(headers)
    creq = "\n".join([method, "/", query, "".join("%s:%s\n" % (n, headers[n]) for n in names),
                      ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/states/aws4_request" % (stamp[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (stamp[:8], region, "states", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key, scope, ";".join(names), sig)
    return headers


@unittest.skipUnless(AWS, "the AWS CLI (Debian awscli) is not installed")
class AwsAuth(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="sagad-aws-")
        self.addCleanup(shutil.rmtree, self.home, True)
        # The CLI's own files: region from the config, keys per profile.
        with open(os.path.join(self.home, "config"), "w") as f:
            f.write("[default]\nregion = local\n")
            for p in ("ops", "viewer", "wrong", "unknown"):
                f.write("[profile %s]\nregion = local\n" % p)
        ops, viewer = ENTRIES["ops"], ENTRIES["viewer"]
        with open(os.path.join(self.home, "credentials"), "w") as f:
            for p, key, secret in (("ops", ops[2], ops[3]), ("viewer", viewer[2], viewer[3]),
                                   ("wrong", ops[2], "not-the-secret"),
                                   ("unknown", "AKIANOBODY0000000000", ops[3]),
                                   ("default", ops[2], ops[3])):
                f.write("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                        % (p, key, secret))

    def start(self, entries=ENTRIES, mode=0o600, **opts):
        d = Daemon(**opts)
        self._daemons.append(d)
        self.tokens = os.path.join(d.dir, "tokens")
        with open(self.tokens, "w") as f:
            f.write(tokens_text(entries))
        os.chmod(self.tokens, mode)
        d.opts["auth_tokens_file"] = self.tokens
        d.start()
        self.d = d
        return d

    def aws(self, profile, *args):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
               "AWS_CONFIG_FILE": os.path.join(self.home, "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "credentials"),
               "AWS_PROFILE": profile, "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "",
               "AWS_EC2_METADATA_DISABLED": "true"}
        p = subprocess.run([AWS, "stepfunctions", *args, "--endpoint-url",
                            "http://127.0.0.1:%d" % self.d.port, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=60)
        return p.returncode, (json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip()
                              else p.stdout), p.stderr

    def create(self, profile, name):
        return self.aws(profile, "create-state-machine", "--name", name, "--role-arn", ROLE,
                        "--definition", json.dumps(PASS))

    def test_cli_with_matching_keys(self):
        self.start()
        rc, out, err = self.create("ops", "m1")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["stateMachineArn"].endswith(":stateMachine:m1"), out)
        rc, out, err = self.aws("viewer", "list-state-machines")
        self.assertEqual(rc, 0, err)
        self.assertIn("m1", [m["name"] for m in out["stateMachines"]])
        rc, out, err = self.aws("ops", "start-execution", "--state-machine-arn",
                                "arn:aws:states:local:000000000000:stateMachine:m1",
                                "--name", "run-1", "--input", '{"a": 1}')
        self.assertEqual(rc, 0, err)
        self.assertIn(":execution:m1:run-1", out["executionArn"])

    def test_cli_wrong_secret_unknown_key_and_missing_scope(self):
        self.start()
        rc, _, err = self.aws("wrong", "list-state-machines")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidSignatureException", err)
        self.assertIn("signature we calculated does not match", err)
        rc, _, err = self.aws("unknown", "list-state-machines")
        self.assertNotEqual(rc, 0)
        self.assertIn("UnrecognizedClientException", err)
        # viewer has read only: creating a machine needs admin.
        rc, _, err = self.create("viewer", "m2")
        self.assertNotEqual(rc, 0)
        self.assertIn("AccessDeniedException", err)
        self.assertIn("'viewer'", err)
        self.assertIn("admin", err)
        # Denials are logged with the key id, never a secret or a signature.
        self.assertTrue(self.d.wait_log(r"denied \(key AKIAOPS0000000000001, "
                                        r"InvalidSignatureException\)", 10), self.d.stderr())
        log = self.d.stderr()
        for _, _, _, secret in ENTRIES.values():
            if secret:
                self.assertNotIn(secret, log)
        self.assertNotIn("Signature=", log)
        self.assertIsNone(re.search(r"[0-9a-f]{64}", log))

    def post(self, headers, body):
        return self.d.request("POST", "/", body, headers=headers)

    def test_unsigned_expired_and_bearer(self):
        self.start()
        body = json.dumps({}).encode()
        target = "AWSStepFunctions.ListStateMachines"
        st, _, out = self.post({"Content-Type": "application/x-amz-json-1.0",
                                "X-Amz-Target": target}, body)
        self.assertEqual((st, out["__type"]), (403, "MissingAuthenticationTokenException"), out)
        host = "127.0.0.1:%d" % self.d.port
        ops = ENTRIES["ops"]
        now = datetime.datetime.now(datetime.timezone.utc)
        st, _, out = self.post(sign("POST", host, target, body, ops[2], ops[3], now), body)
        self.assertEqual(st, 200, out)
        old = now - datetime.timedelta(minutes=20)
        st, _, out = self.post(sign("POST", host, target, body, ops[2], ops[3], old), body)
        self.assertEqual((st, out["__type"]), (400, "InvalidSignatureException"), out)
        self.assertIn("Signature expired", out["message"])
        # The query string as sent is part of what is signed.
        signed = sign("POST", host, target, body, ops[2], ops[3], now, query="a=b&x=1")
        st, _, out = self.d.request("POST", "/?x=1&a=b", body, headers=signed)
        self.assertEqual(st, 200, out)
        st, _, out = self.d.request("POST", "/?x=2&a=b", body, headers=signed)
        self.assertEqual((st, out["__type"]), (400, "InvalidSignatureException"), out)
        # A bearer token of the file works too, with its entry's scopes.
        st, _, out = self.post({"Authorization": "Bearer shop-token-3",
                                "X-Amz-Target": target}, body)
        self.assertEqual(st, 200, out)
        st, _, out = self.post({"Authorization": "Bearer shop-token-3",
                                "X-Amz-Target": "AWSStepFunctions.DeleteStateMachine"},
                               json.dumps({"stateMachineArn": "arn:aws:states:local:"
                                           "000000000000:stateMachine:x"}).encode())
        self.assertEqual((st, out["__type"]), (400, "AccessDeniedException"), out)

    def test_sighup_reloads_keys(self):
        self.start(entries={"ops": ENTRIES["ops"]})
        rc, _, err = self.aws("viewer", "list-state-machines")
        self.assertIn("UnrecognizedClientException", err)
        with open(self.tokens, "w") as f:
            f.write(tokens_text(ENTRIES))
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.d.wait_log(r"SIGHUP: 3 tokens loaded", 10), self.d.stderr())
        rc, _, err = self.aws("viewer", "list-state-machines")
        self.assertEqual(rc, 0, err)
        # Made readable by others: the reload is refused, the keys stay.
        os.chmod(self.tokens, 0o644)
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.d.wait_log(r"holds SigV4 secret keys but is readable by everyone",
                                        10), self.d.stderr())
        rc, _, err = self.aws("viewer", "list-state-machines")
        self.assertEqual(rc, 0, err)

    def test_readable_file_with_secrets_refuses_to_start(self):
        d = Daemon()
        self._daemons.append(d)
        path = os.path.join(d.dir, "tokens")
        with open(path, "w") as f:
            f.write(tokens_text(ENTRIES))
        os.chmod(path, 0o640)
        d.opts["auth_tokens_file"] = path
        p = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=20)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("auth_tokens_file", err)
        self.assertIn("readable by its group (mode 0640)", err)
        self.assertIn("chmod 600", err)
        self.assertNotIn(ENTRIES["ops"][3], err)

    def test_js_sdk_signs_and_is_verified(self):
        """tests/aws/sfn.mjs (the AWS SDK for JavaScript v3, every scenario
        of the Step Functions API) with its key made an admin entry."""
        sdk = os.path.join(AWS_DIR, "node_modules", "@aws-sdk", "client-sfn")
        if not shutil.which("node") or not os.path.isdir(sdk):
            raise RuntimeError("@aws-sdk/client-sfn is not installed: run `make aws-deps` "
                               "(make test does)")
        self.start(entries={"sdk": ("admin", "sdk-token", "AKIDEXAMPLE", "not-a-secret")},
                   aws_region="local", aws_account="000000000000")
        p = subprocess.run(["node", os.path.join(AWS_DIR, "sfn.mjs"), "--endpoint",
                            "http://127.0.0.1:%d" % self.d.port, "--region", "local",
                            "--account", "000000000000"], cwd=AWS_DIR, capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        self.assertIn("DONE ", p.stdout)
        results = [json.loads(ln[7:]) for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        self.assertGreaterEqual(len(results), 8, p.stdout[-3000:])
        for r in results:
            self.assertTrue(r["ok"], r)
        self.assertNotIn("denied", self.d.stderr())

    def test_auth_off_accepts_any_signature(self):
        d = self.daemon()
        self.d = d
        rc, out, err = self.aws("unknown", "list-state-machines")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.aws("wrong", "list-state-machines")
        self.assertEqual(rc, 0, err)
