"""S3Store: finished WARC files uploaded to s3://bucket/prefix, checked by SHA-256, fetched back.

Any S3-compatible service (AWS, MinIO, Ceph, Garage...) through boto3. Credentials and endpoint come
from Scrapy's AWS_* settings when set, otherwise from boto3's own chain (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, ~/.aws/...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHUNK = 1024 * 1024


class StoreError(RuntimeError):
    """The store cannot be reached, or an upload did not arrive whole."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise StoreError(f"not an s3://bucket/prefix URI: {uri!r}")
        return cls(parts.netloc, parts.path.lstrip("/"))

    def child(self, name: str) -> S3Location:
        return S3Location(self.bucket, f"{self.key.rstrip('/')}/{name}" if self.key else name)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def client(settings: Any = None) -> Any:
    """A boto3 S3 client configured from Scrapy's AWS_* settings (or boto3's defaults)."""
    import boto3

    get = settings.get if settings is not None else (lambda _key: None)
    options = {
        "endpoint_url": get("AWS_ENDPOINT_URL"),
        "aws_access_key_id": get("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": get("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": get("AWS_SESSION_TOKEN"),
        "region_name": get("AWS_REGION_NAME"),
    }
    return boto3.client("s3", **{k: v for k, v in options.items() if v})


class S3Store:
    """Uploads under one s3://bucket/prefix and reads back any s3:// object."""

    def __init__(self, uri: str, s3: Any) -> None:
        self.root = S3Location.parse(uri)
        self.s3 = s3

    def upload(self, path: Path, sha256: str) -> str:
        """Upload `path` as prefix/<its name>, read it back, and compare its SHA-256 with `sha256`
        (taken when the file was closed). Returns the object's s3:// URI; StoreError otherwise."""
        from botocore.exceptions import BotoCoreError, ClientError

        target = self.root.child(path.name)
        try:
            self.s3.upload_file(
                str(path), target.bucket, target.key, ExtraArgs={"Metadata": {"sha256": sha256}}
            )
            observed = self.sha256(target.uri)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StoreError(f"cannot upload {path.name} to {target.uri}: {exc}") from exc
        if observed != sha256:
            raise StoreError(f"{target.uri} reads back with SHA-256 {observed}, not {sha256}")
        return target.uri

    def sha256(self, uri: str) -> str:
        digest = hashlib.sha256()
        for chunk in self._chunks(uri):
            digest.update(chunk)
        return digest.hexdigest()

    def download(self, uri: str, path: Path) -> None:
        """Fetch an object to `path` (written as path.part, renamed when whole)."""
        from botocore.exceptions import BotoCoreError, ClientError

        partial = path.with_name(path.name + ".part")
        try:
            with partial.open("wb") as out:
                for chunk in self._chunks(uri):
                    out.write(chunk)
        except (BotoCoreError, ClientError) as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"cannot fetch {uri}: {exc}") from exc
        partial.replace(path)

    def _chunks(self, uri: str) -> Any:
        where = S3Location.parse(uri)
        body = self.s3.get_object(Bucket=where.bucket, Key=where.key)["Body"]
        yield from body.iter_chunks(CHUNK)
