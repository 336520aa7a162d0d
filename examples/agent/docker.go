package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/cairnbackup/cairn/source/docker"
)

// dockerDiscoverer finds labelled volumes and containers through the
// Docker Engine API.
type dockerDiscoverer struct {
	cli *client.Client
}

var _ Discoverer = (*dockerDiscoverer)(nil)

// List returns the volumes and the containers (running or not) that
// carry the cairn.backup label, whatever its value.
func (d *dockerDiscoverer) List(ctx context.Context) ([]Object, error) {
	f := client.Filters{}
	f.Add("label", labelBackup)
	vols, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	cons, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	objs := make([]Object, 0, len(vols.Items)+len(cons.Items))
	for _, v := range vols.Items {
		objs = append(objs, Object{Kind: VolumeObject, Name: v.Name, Labels: v.Labels})
	}
	for _, c := range cons.Items {
		if len(c.Names) == 0 {
			continue
		}
		obj := Object{Kind: ContainerObject, Name: strings.TrimPrefix(c.Names[0], "/"), Labels: c.Labels}
		for _, m := range c.Mounts {
			if m.Type == mount.TypeVolume && m.Name != "" && !slices.Contains(obj.Volumes, m.Name) {
				obj.Volumes = append(obj.Volumes, m.Name)
			}
		}
		slices.Sort(obj.Volumes)
		objs = append(objs, obj)
	}
	return objs, nil
}

// watchedEvents are the events that may change what List returns.
var watchedEvents = map[string][]string{
	"volume":    {"create", "destroy"},
	"container": {"create", "start", "destroy", "rename", "update"},
}

// Watch follows the daemon's volume and container events.
func (d *dockerDiscoverer) Watch(ctx context.Context, changed func()) error {
	f := client.Filters{}
	for typ, actions := range watchedEvents {
		f.Add("type", typ)
		f.Add("event", actions...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := d.cli.Events(ctx, client.EventsListOptions{Filters: f})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg, ok := <-res.Messages:
			if !ok {
				return errors.New("event stream closed")
			}
			if msg.Actor.Attributes[docker.HelperLabel] != "true" { // not our own helpers
				changed()
			}
		case err := <-res.Err:
			return fmt.Errorf("events: %w", err)
		}
	}
}
