// Package s3 stores a repository in an S3-compatible object store (AWS S3,
// Backblaze B2, MinIO, Ceph RGW, Cloudflare R2, Wasabi, VersityGW) through
// github.com/minio/minio-go/v7.
//
// Objects keep the repository layout of FORMAT.md §1 under an optional
// prefix in the bucket: PREFIX/config, PREFIX/keys/ID, PREFIX/data/XX/ID
// and so on. Blobs are read with ranged GETs; packs larger than the part
// size are uploaded in parts. Save refuses an existing object (ErrExists)
// with a check before the upload and an If-None-Match condition on it;
// objects are content-addressed, so the window between the two can only
// store the same bytes twice.
//
// Uploads carry no Content-MD5: it cost a fifth of the throughput here.
// TLS (or, over plain HTTP, the signed payload hash) protects the bytes in
// transit, and every object is checked against its name hash when read.
//
// The backend itself does not retry (the client's own retries are turned
// off); wrap it with package retry for that. Errors name the object and wrap backend.ErrNotFound,
// backend.ErrExists or the context's error where those are the meaning.
package s3
