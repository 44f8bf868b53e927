//! Pagination shared by every list.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per - 1) / per)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// A page request: 1-based page number, clamped to something sane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageReq {
    pub page: u32,
    pub per_page: u32,
}

impl PageReq {
    pub fn new(page: u32, per_page: u32) -> Self {
        PageReq {
            page: page.clamp(1, 100_000),
            per_page: per_page.clamp(1, 100),
        }
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn wrap<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up_and_never_drop_below_one() {
        let r = PageReq::new(0, 12);
        assert_eq!(r.page, 1);
        assert_eq!(r.wrap(Vec::<u8>::new(), 0).pages(), 1);
        assert_eq!(r.wrap(Vec::<u8>::new(), 25).pages(), 3);
        assert_eq!(PageReq::new(3, 12).offset(), 24);
        assert_eq!(PageReq::new(1, 1000).per_page, 100);
    }
}
