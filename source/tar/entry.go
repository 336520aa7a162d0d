package tar

import (
	"archive/tar"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/source"
)

const xattrPrefix = "SCHILY.xattr."

// entryType maps a header type to an entry type; ok is false for the
// types the Source skips.
func entryType(flag byte) (t source.Type, ok bool) {
	switch flag {
	// archive/tar already turns TypeRegA into TypeReg or TypeDir.
	case tar.TypeReg, tar.TypeLink, tar.TypeCont, tar.TypeGNUSparse:
		return source.TypeFile, true
	case tar.TypeDir:
		return source.TypeDir, true
	case tar.TypeSymlink:
		return source.TypeSymlink, true
	case tar.TypeChar:
		return source.TypeCharDevice, true
	case tar.TypeBlock:
		return source.TypeBlockDevice, true
	case tar.TypeFifo:
		return source.TypeFIFO, true
	}
	return 0, false
}

// cleanPath turns a header name into an entry path: a leading "./" and a
// trailing "/" go, and what is left must be a valid path.
func cleanPath(name string) (string, error) {
	if name == "./" || name == "." {
		return ".", nil
	}
	p := strings.TrimPrefix(name, "./")
	p = strings.TrimSuffix(p, "/")
	if err := source.ValidPath(p); err != nil {
		return "", err
	}
	return p, nil
}

// newEntry copies the metadata of hdr into an entry for path p. Hardlink,
// Size and Open are the walker's business.
func newEntry(hdr *tar.Header, p string, t source.Type) (*source.Entry, error) {
	if hdr.Uid < 0 || uint64(hdr.Uid) > math.MaxUint32 || hdr.Gid < 0 || uint64(hdr.Gid) > math.MaxUint32 {
		return nil, fmt.Errorf("uid %d or gid %d out of range", hdr.Uid, hdr.Gid)
	}
	e := &source.Entry{
		Path:       p,
		Type:       t,
		Perm:       source.PermFromUnix(uint32(hdr.Mode & 0o7777)),
		UID:        uint32(hdr.Uid),
		GID:        uint32(hdr.Gid),
		User:       hdr.Uname,
		Group:      hdr.Gname,
		ModTime:    hdr.ModTime,
		ChangeTime: hdr.ChangeTime,
		Xattrs:     xattrs(hdr.PAXRecords),
	}
	switch t {
	case source.TypeSymlink:
		e.LinkTarget = hdr.Linkname
	case source.TypeCharDevice, source.TypeBlockDevice:
		if hdr.Devmajor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor < 0 || hdr.Devminor > math.MaxUint32 {
			return nil, fmt.Errorf("device %d,%d out of range", hdr.Devmajor, hdr.Devminor)
		}
		e.Rdev = makedev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	}
	return e, nil
}

// xattrs collects the extended attributes of PAX records, sorted by name.
func xattrs(records map[string]string) []source.Xattr {
	var xs []source.Xattr
	for k, v := range records {
		if name, ok := strings.CutPrefix(k, xattrPrefix); ok && name != "" {
			xs = append(xs, source.Xattr{Name: name, Value: []byte(v)})
		}
	}
	slices.SortFunc(xs, func(a, b source.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return xs
}

// isSparse reports whether hdr describes a sparse file, in the old GNU
// format or as GNU PAX records.
func isSparse(hdr *tar.Header) bool {
	return hdr.Typeflag == tar.TypeGNUSparse ||
		hdr.PAXRecords["GNU.sparse.major"] != "" || hdr.PAXRecords["GNU.sparse.map"] != ""
}

// makedev, major and minor encode device numbers as glibc does, so Rdev
// matches what stat reports on Linux.
func makedev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0x00000fff)<<8 | (ma&0xfffff000)<<32 | mi&0x000000ff | (mi&0xffffff00)<<12
}

func major(dev uint64) uint32 {
	return uint32((dev>>8)&0x00000fff | (dev>>32)&0xfffff000)
}

func minor(dev uint64) uint32 {
	return uint32(dev&0x000000ff | (dev>>12)&0xffffff00)
}
