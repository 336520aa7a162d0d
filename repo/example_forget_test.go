package repo_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

func ExampleRepository_Forget() {
	ctx := context.Background()
	r, _ := repo.Init(ctx, mem.New(), "secret", repo.InitOptions{Key: keyOpts})
	w := r.NewWriter()
	tree, _, _ := w.SaveBlob(ctx, repo.TreeBlob, []byte("a directory listing"))
	save := func(when string, tags ...string) {
		t, _ := time.Parse(time.DateTime, when)
		w.SaveSnapshot(ctx, &repo.Snapshot{Time: t, Host: "db1", Tags: tags, Tree: tree,
			Paths: []string{"/var/lib/db"}, Source: repo.SourceInfo{Kind: "dir"}})
	}
	for day := 12; day <= 21; day++ {
		save(fmt.Sprintf("2026-11-%d 03:00:00", day), "nightly")
	}
	save("2026-11-15 15:00:00", "before-upgrade")

	// Keep the newest, one a day for three days, one a week for two
	// weeks, and whatever was saved before the upgrade.
	policy := repo.Policy{Last: 1, Daily: 3, Weekly: 2, Tags: []string{"before-upgrade"}, Location: time.UTC}
	res, err := r.Forget(ctx, policy, repo.ForgetOptions{DryRun: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range res.Groups {
		fmt.Println(g.Key)
		for _, d := range g.Keep {
			fmt.Println("  keep  ", d.Snapshot.Time.Format(time.DateTime), strings.Join(d.Reasons, ", "))
		}
		for _, d := range g.Remove {
			fmt.Println("  remove", d.Snapshot.Time.Format(time.DateTime))
		}
	}
	fmt.Println("removed:", len(res.Removed), "(dry run)")
	// Output:
	// host db1, kind dir, paths [/var/lib/db]
	//   keep   2026-11-21 03:00:00 last 1, daily 2026-11-21, weekly 2026-W47
	//   keep   2026-11-20 03:00:00 daily 2026-11-20
	//   keep   2026-11-19 03:00:00 daily 2026-11-19
	//   keep   2026-11-15 15:00:00 weekly 2026-W46, tag before-upgrade
	//   remove 2026-11-18 03:00:00
	//   remove 2026-11-17 03:00:00
	//   remove 2026-11-16 03:00:00
	//   remove 2026-11-15 03:00:00
	//   remove 2026-11-14 03:00:00
	//   remove 2026-11-13 03:00:00
	//   remove 2026-11-12 03:00:00
	// removed: 0 (dry run)
}
