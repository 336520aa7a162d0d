package source

import "io/fs"

// The Unix special permission bits, as in st_mode, tar headers and
// cairn's tree blobs.
const (
	unixSetuid = 0o4000
	unixSetgid = 0o2000
	unixSticky = 0o1000
)

// PermFromUnix turns the permission and special bits of a Unix mode
// (0o7777) into an Entry's Perm. The special bits sit elsewhere in io/fs,
// so they are moved one by one; other bits of mode are ignored.
func PermFromUnix(mode uint32) fs.FileMode {
	p := fs.FileMode(mode & 0o777)
	if mode&unixSetuid != 0 {
		p |= fs.ModeSetuid
	}
	if mode&unixSetgid != 0 {
		p |= fs.ModeSetgid
	}
	if mode&unixSticky != 0 {
		p |= fs.ModeSticky
	}
	return p
}

// UnixPerm is the inverse of PermFromUnix: the 0o7777 bits of p.
func UnixPerm(p fs.FileMode) uint32 {
	m := uint32(p.Perm())
	if p&fs.ModeSetuid != 0 {
		m |= unixSetuid
	}
	if p&fs.ModeSetgid != 0 {
		m |= unixSetgid
	}
	if p&fs.ModeSticky != 0 {
		m |= unixSticky
	}
	return m
}
