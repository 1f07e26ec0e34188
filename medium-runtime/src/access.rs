//! The daemon's enforcement of a protocol's `@allow` rules (`ProtocolInfo::access`, PROTOCOL.md
//! §7.1). When serving starts, [`AccessPolicy::resolve`] turns every term into the uid or gid it
//! stands for (`owner` is the daemon's effective uid; a `group` name is looked up in the system's
//! group database, and an unknown one stops the daemon). When a connection is admitted,
//! [`AccessPolicy::for_peer`] decides once which methods and events that peer may not use, so
//! checking a call is a binary search over the methods denied to it, without allocation.
//!
//! Also reads a peer's supplementary groups (`SO_PEERGROUPS`), which `gid = N` and `group`
//! terms match besides the primary gid. No other I/O here.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use crate::application::Application;
use crate::error::Error;
use crate::exception::{ErrorCode, ProtocolError};
use crate::protocol_info::{AccessItem, Allow, ProtocolInfo};

/// Whom one term of a rule admits, once resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    /// The peer whose uid this is (`root`, `owner`, `uid = N`).
    Uid(u32),
    /// A peer with this gid, primary or supplementary (`gid = N`, `group = "name"`).
    Gid(u32),
}

impl Principal {
    fn admits(self, peer: &Application) -> bool {
        match self {
            Principal::Uid(uid) => peer.credentials.uid == uid,
            Principal::Gid(gid) => {
                peer.credentials.gid == gid
                    || peer
                        .groups
                        .as_deref()
                        .is_some_and(|groups| groups.contains(&gid))
            }
        }
    }
}

/// One rule, its terms resolved.
#[derive(Debug)]
struct ResolvedRule {
    item: AccessItem,
    principals: Box<[Principal]>,
}

/// A protocol's rules as this daemon enforces them; resolved once, when serving starts.
#[derive(Debug)]
pub(crate) struct AccessPolicy {
    rules: Box<[ResolvedRule]>,
}

impl AccessPolicy {
    /// Resolves `info`'s rules: `owner` to this process's effective uid, each `group` name to
    /// its gid. Fails naming the group and the item when a group does not exist.
    pub(crate) fn resolve(info: &ProtocolInfo) -> Result<AccessPolicy, Error> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let owner = unsafe { libc::geteuid() };
        let rules = info
            .access
            .iter()
            .map(|rule| {
                let principals = rule
                    .allow
                    .iter()
                    .map(|term| {
                        Ok(match *term {
                            Allow::Root => Principal::Uid(0),
                            Allow::Owner => Principal::Uid(owner),
                            Allow::Uid(uid) => Principal::Uid(uid),
                            Allow::Gid(gid) => Principal::Gid(gid),
                            Allow::Group(name) => Principal::Gid(group_id(name, rule.item)?),
                        })
                    })
                    .collect::<Result<_, Error>>()?;
                Ok(ResolvedRule {
                    item: rule.item,
                    principals,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(AccessPolicy { rules })
    }

    /// What `peer` may not do, decided once for its connection. A rule naming an event `info`
    /// does not have denies nothing: subscribing to it is refused as unknown anyway.
    pub(crate) fn for_peer(&self, info: &ProtocolInfo, peer: &Application) -> PeerAccess {
        let mut denied_methods = Vec::new();
        let mut denied_events = vec![false; info.events.len()];
        for rule in &self.rules {
            if rule.principals.iter().any(|p| p.admits(peer)) {
                continue;
            }
            match rule.item {
                AccessItem::Method(method) => denied_methods.push(method),
                AccessItem::Event(event) => {
                    if let Some(index) = info.events.iter().position(|e| *e == event) {
                        denied_events[index] = true;
                    }
                }
            }
        }
        denied_methods.sort_unstable();
        PeerAccess {
            uid: peer.credentials.uid,
            denied_methods: denied_methods.into_boxed_slice(),
            denied_events: denied_events.into_boxed_slice(),
        }
    }
}

/// What one connected peer may not do: the methods it may not call and the events it may not
/// subscribe to.
#[derive(Debug)]
pub(crate) struct PeerAccess {
    uid: u32,
    /// Sorted, for a binary search per call.
    denied_methods: Box<[&'static str]>,
    /// By index in `ProtocolInfo::events`.
    denied_events: Box<[bool]>,
}

impl PeerAccess {
    /// The `forbidden` error for a CALL of `method`, if the peer may not call it.
    pub(crate) fn refuse_call(&self, method: &str) -> Option<ProtocolError> {
        let denied = self
            .denied_methods
            .binary_search_by(|denied| (*denied).cmp(method))
            .ok()?;
        Some(ProtocolError::new(
            ErrorCode::Forbidden,
            format!(
                "uid {} may not call `{}`",
                self.uid, self.denied_methods[denied]
            ),
        ))
    }

    /// The `forbidden` error for a SUBSCRIBE to `event`, the event at `index` in
    /// `ProtocolInfo::events`, if the peer may not subscribe to it.
    pub(crate) fn refuse_subscription(&self, index: usize, event: &str) -> Option<ProtocolError> {
        self.denied_events.get(index).copied()?.then(|| {
            ProtocolError::new(
                ErrorCode::Forbidden,
                format!("uid {} may not subscribe to `{event}`", self.uid),
            )
        })
    }
}

/// The name of the method or event a rule governs.
fn item_name(item: AccessItem) -> &'static str {
    match item {
        AccessItem::Method(name) | AccessItem::Event(name) => name,
    }
}

/// Largest buffer offered to `getgrnam_r` for one group's entry (its member list included).
const MAX_GROUP_ENTRY: usize = 1 << 20;

/// The gid of group `name` (named in the rule of `item`), from the system's group database.
fn group_id(name: &'static str, item: AccessItem) -> Result<u32, Error> {
    let unknown = || Error::UnknownGroup {
        group: name.to_owned(),
        item: item_name(item).to_owned(),
    };
    let Ok(c_name) = CString::new(name) else {
        return Err(unknown());
    };
    let mut buffer: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: `group` is plain data (integers and pointers), for which zero is valid.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: the name is NUL-terminated, `buffer.len()` is the buffer's size, and every
        // pointer is valid for the duration of the call.
        let rc = unsafe {
            libc::getgrnam_r(
                c_name.as_ptr(),
                &mut group,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        match rc {
            0 if found.is_null() => return Err(unknown()),
            0 => return Ok(group.gr_gid),
            libc::ERANGE if buffer.len() < MAX_GROUP_ENTRY => buffer.resize(buffer.len() * 2, 0),
            // getgrnam_r(3): these also mean "no such group" on some systems.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Err(unknown()),
            errno => {
                return Err(Error::GroupLookup {
                    group: name.to_owned(),
                    item: item_name(item).to_owned(),
                    cause: std::io::Error::from_raw_os_error(errno),
                });
            }
        }
    }
}

/// The supplementary groups of the process at the other end of `socket`, as the kernel
/// recorded them when it connected (`SO_PEERGROUPS`, Linux 4.13 and later). `None` where the
/// kernel cannot tell: then only the peer's primary gid (`SO_PEERCRED`) is known.
pub(crate) fn peer_groups(socket: &impl AsFd) -> Option<Arc<[u32]>> {
    #[cfg(target_os = "linux")]
    {
        const GID_LEN: usize = std::mem::size_of::<libc::gid_t>();
        let fd = socket.as_fd().as_raw_fd();
        let mut groups: Vec<libc::gid_t> = vec![0; 32];
        loop {
            let mut len = libc::socklen_t::try_from(groups.len() * GID_LEN).ok()?;
            // SAFETY: `groups` is valid for `len` bytes, and the kernel writes at most that.
            let rc = unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_PEERGROUPS,
                    groups.as_mut_ptr().cast(),
                    &mut len,
                )
            };
            let needed = len as usize / GID_LEN;
            if rc == 0 {
                groups.truncate(needed);
                return Some(groups.into());
            }
            // Too small: the kernel said how many there are (at most NGROUPS_MAX, 65,536).
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE)
                || needed <= groups.len()
            {
                return None;
            }
            groups.resize(needed, 0);
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationId, PeerCredentials};
    use crate::protocol_info::AccessRule;

    fn peer(uid: u32, gid: u32, groups: Option<&[u32]>) -> Application {
        Application {
            id: ApplicationId(1),
            credentials: PeerCredentials {
                pid: None,
                uid,
                gid,
            },
            groups: groups.map(Arc::from),
        }
    }

    const INFO: ProtocolInfo = ProtocolInfo {
        namespace: "com.example.access",
        class: "Access",
        fingerprint: "ac00000000000000000000000000000000000000000000000000000000000000",
        socket_base: None,
        spec: "",
        events: &["open_news", "staff_news"],
        access: &[
            AccessRule {
                item: AccessItem::Method("for_staff"),
                allow: &[Allow::Uid(1000), Allow::Gid(50)],
            },
            AccessRule {
                item: AccessItem::Method("for_root"),
                allow: &[Allow::Root],
            },
            AccessRule {
                item: AccessItem::Event("staff_news"),
                allow: &[Allow::Gid(50)],
            },
        ],
        uses_fd: false,
    };

    #[test]
    fn a_peer_matches_a_rule_by_uid_primary_gid_or_supplementary_group() {
        let policy = AccessPolicy::resolve(&INFO).unwrap();
        let by_uid = policy.for_peer(&INFO, &peer(1000, 1000, Some(&[])));
        assert!(by_uid.refuse_call("for_staff").is_none());
        let by_primary = policy.for_peer(&INFO, &peer(7, 50, None));
        assert!(by_primary.refuse_call("for_staff").is_none());
        assert!(by_primary.refuse_subscription(1, "staff_news").is_none());
        let by_supplementary = policy.for_peer(&INFO, &peer(7, 7, Some(&[3, 50])));
        assert!(by_supplementary.refuse_call("for_staff").is_none());
        let stranger = policy.for_peer(&INFO, &peer(7, 7, Some(&[3])));
        let refusal = stranger.refuse_call("for_staff").unwrap();
        assert_eq!(refusal.code, ErrorCode::Forbidden);
        assert_eq!(refusal.message, "uid 7 may not call `for_staff`");
        assert_eq!(
            stranger.refuse_call("for_root").unwrap().message,
            "uid 7 may not call `for_root`"
        );
        assert!(stranger.refuse_call("unruled").is_none());
        assert!(stranger.refuse_subscription(0, "open_news").is_none());
        assert_eq!(
            stranger
                .refuse_subscription(1, "staff_news")
                .unwrap()
                .message,
            "uid 7 may not subscribe to `staff_news`"
        );
        let root = policy.for_peer(&INFO, &peer(0, 0, None));
        assert!(root.refuse_call("for_root").is_none());
        assert!(root.refuse_call("for_staff").is_some());
    }

    #[test]
    fn owner_is_the_effective_uid_and_a_group_resolves_by_name() {
        const RULED: ProtocolInfo = ProtocolInfo {
            access: &[
                AccessRule {
                    item: AccessItem::Method("mine"),
                    allow: &[Allow::Owner],
                },
                AccessRule {
                    item: AccessItem::Method("wheel"),
                    allow: &[Allow::Group("root")],
                },
            ],
            ..INFO
        };
        let policy = AccessPolicy::resolve(&RULED).unwrap();
        // SAFETY: no preconditions.
        let me = unsafe { libc::geteuid() };
        let other = me.wrapping_add(1);
        let owner = policy.for_peer(&RULED, &peer(me, other, None));
        assert!(owner.refuse_call("mine").is_none());
        let stranger = policy.for_peer(&RULED, &peer(other, other, Some(&[other])));
        assert!(stranger.refuse_call("mine").is_some());
        assert!(stranger.refuse_call("wheel").is_some());
        // Group `root` is gid 0 on Linux.
        let in_group = policy.for_peer(&RULED, &peer(other, other, Some(&[0])));
        assert!(in_group.refuse_call("wheel").is_none());
    }

    #[test]
    fn an_unknown_group_is_an_error_naming_it_and_the_item() {
        const UNKNOWN: ProtocolInfo = ProtocolInfo {
            access: &[AccessRule {
                item: AccessItem::Event("staff_news"),
                allow: &[Allow::Root, Allow::Group("no-such-group-medium")],
            }],
            ..INFO
        };
        let error = AccessPolicy::resolve(&UNKNOWN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "group `no-such-group-medium` in the @allow rule of `staff_news` does not exist on \
             this system"
        );
    }

    #[test]
    fn the_supplementary_groups_of_a_socket_peer_are_read() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let groups = peer_groups(&ours);
        if cfg!(target_os = "linux") {
            // SAFETY: getgroups with a zero size only counts.
            let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
            assert_eq!(groups.unwrap().len(), usize::try_from(count).unwrap());
        } else {
            assert!(groups.is_none());
        }
    }
}
