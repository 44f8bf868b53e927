//! The demo city: a real neighbourhood of central Shanghai with stores of every kind, their
//! catalogs and stock, 25 couriers and one account per role. Seeded once, in one transaction,
//! with the same content (and ids) every time.

use app::accounts::model::{Password, Role};
use app::error::AppError;
use sqlx::PgPool;
use uuid::Uuid;

/// Deterministic ids: UUID v7 layout with a fixed timestamp and a counter for the random part.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> Uuid {
        self.0 += 1;
        let mut rand = [0u8; 10];
        rand[2..].copy_from_slice(&self.0.to_be_bytes());
        // 2026-11-23T00:00:00Z
        uuid::Builder::from_unix_timestamp_millis(1_795_392_000_000, &rand).into_uuid()
    }
}

struct StoreSpec {
    slug: &'static str,
    name: &'static str,
    kind: &'static str,
    address: &'static str,
    lat: f64,
    lng: f64,
    radius_m: i32,
    prep_min: i32,
    min_order_fen: i64,
    packaging_fen: i64,
    rating_x10: i16,
}

const STORES: &[StoreSpec] = &[
    StoreSpec {
        slug: "songda-mart-jingan",
        name: "送达超市 Songda Mart · 静安寺",
        kind: "grocery",
        address: "南京西路 1601 号 (Jing'an Temple)",
        lat: 31.2233,
        lng: 121.4456,
        radius_m: 3000,
        prep_min: 10,
        min_order_fen: 2000,
        packaging_fen: 100,
        rating_x10: 47,
    },
    StoreSpec {
        slug: "songda-mart-peoples-square",
        name: "送达超市 Songda Mart · 人民广场",
        kind: "grocery",
        address: "西藏中路 268 号 (People's Square)",
        lat: 31.2304,
        lng: 121.4737,
        radius_m: 3000,
        prep_min: 10,
        min_order_fen: 2000,
        packaging_fen: 100,
        rating_x10: 46,
    },
    StoreSpec {
        slug: "lianjia-market-laoximen",
        name: "邻家便利 Linjia Market · 老西门",
        kind: "grocery",
        address: "中华路 1450 号 (Laoximen)",
        lat: 31.2200,
        lng: 121.4860,
        radius_m: 2500,
        prep_min: 8,
        min_order_fen: 1500,
        packaging_fen: 50,
        rating_x10: 44,
    },
    StoreSpec {
        slug: "xianfeng-fresh-xintiandi",
        name: "鲜丰生鲜 Xianfeng Fresh · 新天地",
        kind: "fresh",
        address: "马当路 245 号 (Xintiandi)",
        lat: 31.2196,
        lng: 121.4757,
        radius_m: 3000,
        prep_min: 15,
        min_order_fen: 3000,
        packaging_fen: 200,
        rating_x10: 48,
    },
    StoreSpec {
        slug: "xianfeng-fresh-changshou",
        name: "鲜丰生鲜 Xianfeng Fresh · 长寿路",
        kind: "fresh",
        address: "长寿路 155 号 (Changshou Road)",
        lat: 31.2420,
        lng: 121.4370,
        radius_m: 3000,
        prep_min: 15,
        min_order_fen: 3000,
        packaging_fen: 200,
        rating_x10: 45,
    },
    StoreSpec {
        slug: "kangjian-pharmacy-huaihai",
        name: "康健大药房 Kangjian Pharmacy · 淮海中路",
        kind: "pharmacy",
        address: "淮海中路 999 号 (Huaihai Road)",
        lat: 31.2151,
        lng: 121.4590,
        radius_m: 5000,
        prep_min: 5,
        min_order_fen: 0,
        packaging_fen: 0,
        rating_x10: 49,
    },
    StoreSpec {
        slug: "kangjian-pharmacy-lujiazui",
        name: "康健大药房 Kangjian Pharmacy · 陆家嘴 (24h)",
        kind: "pharmacy",
        address: "陆家嘴环路 1000 号 (Lujiazui)",
        lat: 31.2397,
        lng: 121.4998,
        radius_m: 5000,
        prep_min: 5,
        min_order_fen: 0,
        packaging_fen: 0,
        rating_x10: 47,
    },
    StoreSpec {
        slug: "huayu-flowers-wukang",
        name: "花语 Huayu Flowers · 武康路",
        kind: "flowers",
        address: "武康路 393 号 (Wukang Road)",
        lat: 31.2095,
        lng: 121.4390,
        radius_m: 4000,
        prep_min: 20,
        min_order_fen: 5000,
        packaging_fen: 500,
        rating_x10: 49,
    },
    StoreSpec {
        slug: "huayu-flowers-tianzifang",
        name: "花语 Huayu Flowers · 田子坊",
        kind: "flowers",
        address: "泰康路 210 弄 (Tianzifang)",
        lat: 31.2086,
        lng: 121.4696,
        radius_m: 4000,
        prep_min: 20,
        min_order_fen: 5000,
        packaging_fen: 500,
        rating_x10: 46,
    },
    StoreSpec {
        slug: "maifeng-bakery-xujiahui",
        name: "麦风烘焙 Maifeng Bakery · 徐家汇",
        kind: "bakery",
        address: "漕溪北路 88 号 (Xujiahui)",
        lat: 31.1950,
        lng: 121.4370,
        radius_m: 3000,
        prep_min: 12,
        min_order_fen: 2500,
        packaging_fen: 100,
        rating_x10: 48,
    },
    StoreSpec {
        slug: "maifeng-bakery-nanjing-east",
        name: "麦风烘焙 Maifeng Bakery · 南京东路",
        kind: "bakery",
        address: "南京东路 300 号 (Nanjing Road East)",
        lat: 31.2380,
        lng: 121.4840,
        radius_m: 3000,
        prep_min: 12,
        min_order_fen: 2500,
        packaging_fen: 100,
        rating_x10: 45,
    },
    StoreSpec {
        slug: "laofandian-yuyuan",
        name: "老饭店 Lao Fandian · 豫园",
        kind: "restaurant",
        address: "福佑路 242 号 (Yu Garden)",
        lat: 31.2272,
        lng: 121.4921,
        radius_m: 3500,
        prep_min: 25,
        min_order_fen: 4000,
        packaging_fen: 300,
        rating_x10: 46,
    },
    StoreSpec {
        slug: "jiangnan-noodles-zhongshan-park",
        name: "江南面馆 Jiangnan Noodles · 中山公园",
        kind: "restaurant",
        address: "长宁路 1018 号 (Zhongshan Park)",
        lat: 31.2180,
        lng: 121.4170,
        radius_m: 3000,
        prep_min: 15,
        min_order_fen: 2000,
        packaging_fen: 200,
        rating_x10: 47,
    },
    StoreSpec {
        slug: "xiaolongbao-dapuqiao",
        name: "小笼包铺 Xiaolongbao House · 打浦桥",
        kind: "restaurant",
        address: "徐家汇路 618 号 (Dapuqiao)",
        lat: 31.2050,
        lng: 121.4660,
        radius_m: 3000,
        prep_min: 18,
        min_order_fen: 2500,
        packaging_fen: 200,
        rating_x10: 48,
    },
];

type Catalog = &'static [(&'static str, &'static [(&'static str, &'static str, i64)])];

const GROCERY: Catalog = &[
    (
        "Drinks 饮料",
        &[
            ("农夫山泉 Spring water 550ml", "bottle", 200),
            ("可口可乐 Coca-Cola 330ml", "can", 350),
            ("元气森林 Sparkling water 480ml", "bottle", 550),
            ("维他柠檬茶 Lemon tea 250ml", "pack", 400),
            ("青岛啤酒 Tsingtao beer 500ml", "can", 650),
            ("光明牛奶 Bright milk 950ml", "carton", 1380),
            ("豆浆 Soy milk 1L", "carton", 990),
        ],
    ),
    (
        "Snacks 零食",
        &[
            ("乐事薯片 Lay's chips 70g", "bag", 790),
            ("奥利奥 Oreo 97g", "pack", 690),
            ("旺旺雪饼 Rice crackers 84g", "bag", 590),
            ("大白兔奶糖 White Rabbit candy 114g", "bag", 1290),
            ("三只松鼠坚果 Mixed nuts 150g", "bag", 2990),
            ("德芙巧克力 Dove chocolate 43g", "bar", 890),
        ],
    ),
    (
        "Pantry 粮油调味",
        &[
            ("五常大米 Wuchang rice 5kg", "bag", 6990),
            ("金龙鱼花生油 Peanut oil 1.8L", "bottle", 4590),
            ("海天生抽 Light soy sauce 500ml", "bottle", 990),
            ("镇江香醋 Zhenjiang vinegar 500ml", "bottle", 890),
            ("挂面 Dried noodles 1kg", "pack", 1190),
            ("老干妈 Chili crisp 280g", "jar", 1290),
            ("鸡蛋 Eggs ×10", "box", 1590),
        ],
    ),
    (
        "Household 日用",
        &[
            ("维达抽纸 Tissues ×3", "pack", 1590),
            ("立白洗衣液 Laundry liquid 2kg", "bottle", 3290),
            ("洗洁精 Dish soap 1.1kg", "bottle", 1290),
            ("垃圾袋 Bin bags ×50", "roll", 890),
            ("牙膏 Toothpaste 120g", "tube", 1590),
            ("电池 AA batteries ×4", "pack", 1990),
        ],
    ),
];

const FRESH: Catalog = &[
    (
        "Fruit 水果",
        &[
            ("红富士苹果 Fuji apples 1kg", "bag", 1590),
            ("香蕉 Bananas 1kg", "bunch", 990),
            ("麒麟西瓜 Watermelon (half)", "piece", 1990),
            ("阳光玫瑰葡萄 Shine Muscat 500g", "box", 3990),
            ("砂糖橘 Mandarins 1kg", "bag", 1290),
            ("草莓 Strawberries 300g", "box", 2990),
            ("猕猴桃 Kiwis ×6", "box", 1990),
        ],
    ),
    (
        "Vegetables 蔬菜",
        &[
            ("上海青 Shanghai greens 500g", "bag", 390),
            ("西红柿 Tomatoes 500g", "bag", 590),
            ("黄瓜 Cucumbers 500g", "bag", 490),
            ("土豆 Potatoes 1kg", "bag", 590),
            ("香菇 Shiitake 300g", "box", 890),
            ("大葱 Scallions 250g", "bunch", 290),
            ("生姜 Ginger 200g", "bag", 390),
        ],
    ),
    (
        "Meat & seafood 肉禽水产",
        &[
            ("五花肉 Pork belly 500g", "tray", 2690),
            ("鸡腿 Chicken legs 600g", "tray", 1990),
            ("牛腩 Beef brisket 500g", "tray", 4990),
            ("大虾 Prawns 400g", "box", 5990),
            ("鲈鱼 Sea bass (whole, ~600g)", "piece", 3990),
            ("排骨 Pork ribs 500g", "tray", 3290),
        ],
    ),
    (
        "Dairy & tofu 乳品豆制品",
        &[
            ("北豆腐 Firm tofu 400g", "box", 390),
            ("酸奶 Yoghurt 4×100g", "pack", 1290),
            ("鲜牛奶 Fresh milk 950ml", "bottle", 1590),
            ("鸭蛋 Duck eggs ×6", "box", 1490),
        ],
    ),
];

const PHARMACY: Catalog = &[
    (
        "Cold & fever 感冒发烧",
        &[
            ("布洛芬缓释胶囊 Ibuprofen 0.3g×20", "box", 2580),
            ("对乙酰氨基酚片 Paracetamol 0.5g×20", "box", 1280),
            ("连花清瘟胶囊 Lianhua Qingwen ×24", "box", 2980),
            ("板蓝根颗粒 Banlangen granules ×20", "box", 1580),
            ("体温计 Digital thermometer", "piece", 3900),
            ("医用口罩 Medical masks ×50", "box", 2990),
        ],
    ),
    (
        "Stomach 肠胃",
        &[
            ("蒙脱石散 Smectite powder ×10", "box", 1980),
            ("健胃消食片 Digestive tablets ×32", "box", 1690),
            ("口服补液盐 Oral rehydration salts ×6", "box", 990),
            ("益生菌 Probiotics ×10", "box", 6800),
        ],
    ),
    (
        "First aid 外用",
        &[
            ("创可贴 Band-aids ×100", "box", 1590),
            ("碘伏 Povidone iodine 100ml", "bottle", 890),
            ("医用棉签 Cotton swabs ×200", "pack", 590),
            ("云南白药气雾剂 Yunnan Baiyao spray", "can", 4800),
            ("弹性绷带 Elastic bandage", "roll", 1290),
        ],
    ),
    (
        "Vitamins 维生素",
        &[
            ("维生素C Vitamin C ×100", "bottle", 3900),
            ("复合维生素 Multivitamin ×60", "bottle", 8800),
            ("钙片 Calcium + D ×60", "bottle", 5900),
            ("鱼油 Fish oil ×90", "bottle", 12800),
            ("眼药水 Eye drops 10ml", "bottle", 2800),
        ],
    ),
];

const FLOWERS: Catalog = &[
    (
        "Bouquets 花束",
        &[
            ("红玫瑰 11 red roses", "bouquet", 19900),
            ("粉玫瑰 19 pink roses", "bouquet", 29900),
            ("向日葵 Sunflowers ×3", "bouquet", 12900),
            ("郁金香 Tulips ×10", "bouquet", 16900),
            ("康乃馨 Carnations ×12", "bouquet", 9900),
            ("百合 Lilies ×5", "bouquet", 15900),
            ("满天星 Baby's breath", "bouquet", 8900),
        ],
    ),
    (
        "Plants 绿植",
        &[
            ("绿萝 Pothos (pot)", "pot", 3900),
            ("多肉 Succulent trio", "set", 4900),
            ("发财树 Money tree (small)", "pot", 12800),
            ("蝴蝶兰 Phalaenopsis orchid", "pot", 16800),
            ("龟背竹 Monstera (small)", "pot", 9900),
            ("仙人掌 Cactus", "pot", 2900),
        ],
    ),
    (
        "Gifts 礼品",
        &[
            ("贺卡 Greeting card", "piece", 500),
            ("花瓶 Glass vase", "piece", 5900),
            ("永生花 Preserved rose box", "box", 25900),
            ("巧克力礼盒 Chocolate gift box", "box", 8800),
            ("小熊公仔 Teddy bear", "piece", 6900),
        ],
    ),
    (
        "Seasonal 时令",
        &[
            ("桂花枝 Osmanthus stems", "bunch", 6900),
            ("银柳 Pussy willow", "bunch", 5900),
            ("腊梅 Wintersweet", "bunch", 7900),
            ("菊花 Chrysanthemums ×10", "bouquet", 8900),
        ],
    ),
];

const BAKERY: Catalog = &[
    (
        "Bread 面包",
        &[
            ("全麦吐司 Whole-wheat loaf", "loaf", 1800),
            ("法棍 Baguette", "piece", 1200),
            ("牛角包 Croissant", "piece", 1000),
            ("肉松面包 Pork floss bun", "piece", 900),
            ("菠萝包 Pineapple bun", "piece", 800),
            ("贝果 Bagel", "piece", 1100),
            ("手撕包 Milk tear bread", "piece", 1500),
        ],
    ),
    (
        "Cakes 蛋糕",
        &[
            ("提拉米苏 Tiramisu slice", "slice", 2800),
            ("芝士蛋糕 Cheesecake slice", "slice", 2600),
            ("黑森林 Black Forest 6\"", "cake", 16800),
            ("草莓奶油 Strawberry cream 6\"", "cake", 18800),
            ("抹茶卷 Matcha roll", "piece", 3200),
            ("蛋挞 Egg tarts ×4", "box", 2400),
        ],
    ),
    (
        "Pastries 中式点心",
        &[
            ("鲜肉月饼 Pork mooncakes ×4", "box", 2800),
            ("蝴蝶酥 Palmiers 200g", "box", 3500),
            ("绿豆糕 Mung bean cakes ×6", "box", 2600),
            ("桃酥 Walnut cookies 300g", "box", 2200),
            ("青团 Qingtuan ×4", "box", 2400),
        ],
    ),
    (
        "Drinks 饮品",
        &[
            ("美式咖啡 Americano", "cup", 1500),
            ("拿铁 Latte", "cup", 2000),
            ("奶茶 Milk tea", "cup", 1600),
            ("橙汁 Orange juice", "bottle", 1800),
            ("热可可 Hot cocoa", "cup", 1800),
        ],
    ),
];

const RESTAURANT: Catalog = &[
    (
        "Mains 招牌菜",
        &[
            ("红烧肉 Braised pork belly", "portion", 6800),
            ("糖醋小排 Sweet & sour ribs", "portion", 5800),
            ("油爆虾 Crispy river shrimp", "portion", 8800),
            ("清蒸鲈鱼 Steamed sea bass", "portion", 9800),
            ("宫保鸡丁 Kung Pao chicken", "portion", 4200),
            ("麻婆豆腐 Mapo tofu", "portion", 3200),
        ],
    ),
    (
        "Noodles & dumplings 面点",
        &[
            ("葱油拌面 Scallion oil noodles", "bowl", 1800),
            ("大排面 Pork chop noodles", "bowl", 2800),
            ("小笼包 Xiaolongbao ×8", "basket", 2600),
            ("生煎包 Shengjian ×4", "portion", 1800),
            ("馄饨 Wontons ×10", "bowl", 2200),
            ("蟹粉小笼 Crab xiaolongbao ×6", "basket", 4800),
        ],
    ),
    (
        "Vegetables 时蔬",
        &[
            ("清炒时蔬 Stir-fried greens", "portion", 2200),
            ("蒜蓉西兰花 Garlic broccoli", "portion", 2400),
            ("地三鲜 Potato, eggplant, pepper", "portion", 2600),
            ("凉拌黄瓜 Smashed cucumber", "portion", 1400),
        ],
    ),
    (
        "Rice & soup 饭汤",
        &[
            ("米饭 Steamed rice", "bowl", 300),
            ("扬州炒饭 Yangzhou fried rice", "portion", 2800),
            ("腌笃鲜 Pork & bamboo soup", "pot", 5800),
            ("酸辣汤 Hot & sour soup", "bowl", 1600),
            ("酸梅汤 Sour plum drink", "bottle", 800),
        ],
    ),
];

fn catalog(kind: &str) -> Catalog {
    match kind {
        "grocery" => GROCERY,
        "fresh" => FRESH,
        "pharmacy" => PHARMACY,
        "flowers" => FLOWERS,
        "bakery" => BAKERY,
        _ => RESTAURANT,
    }
}

/// Opening hours per ISO weekday as (opens, closes) "HH:MM" pairs.
fn hours(spec: &StoreSpec) -> Vec<(i16, &'static str, &'static str)> {
    let mut out = Vec::new();
    for day in 1..=7i16 {
        let weekend = day >= 6;
        match (spec.kind, spec.slug.ends_with("lujiazui")) {
            (_, true) => out.push((day, "00:00", "24:00")),
            ("restaurant", _) => {
                out.push((day, "10:30", "14:00"));
                out.push((day, "16:30", if weekend { "22:30" } else { "21:30" }));
            }
            ("bakery", _) => out.push((day, "07:00", "21:00")),
            ("flowers", _) => out.push((day, "09:00", if weekend { "21:00" } else { "20:00" })),
            ("pharmacy", _) => out.push((day, "08:00", "23:00")),
            _ => out.push((day, "07:00", "23:00")),
        }
    }
    out
}

const COURIER_NAMES: [&str; 25] = [
    "王磊 Wang Lei",
    "李强 Li Qiang",
    "张伟 Zhang Wei",
    "刘洋 Liu Yang",
    "陈杰 Chen Jie",
    "杨帆 Yang Fan",
    "赵鹏 Zhao Peng",
    "黄勇 Huang Yong",
    "周涛 Zhou Tao",
    "吴斌 Wu Bin",
    "徐超 Xu Chao",
    "孙浩 Sun Hao",
    "马俊 Ma Jun",
    "朱明 Zhu Ming",
    "胡军 Hu Jun",
    "郭亮 Guo Liang",
    "何平 He Ping",
    "高峰 Gao Feng",
    "林刚 Lin Gang",
    "罗成 Luo Cheng",
    "郑凯 Zheng Kai",
    "梁辉 Liang Hui",
    "宋健 Song Jian",
    "谢东 Xie Dong",
    "韩雷 Han Lei",
];

/// Seeds the demo city unless it was seeded before. Returns whether it seeded now.
pub async fn seed_demo_city(pool: &PgPool) -> Result<bool, AppError> {
    let password = Password::parse(app::demo::PASSWORD)?;
    let hash = app::accounts::service::hash_password(&password).await?;

    let mut tx = pool.begin().await?;
    // The marker row doubles as a lock: a second server starting at once waits here, then skips.
    let first = sqlx::query_scalar!(
        "insert into app_meta (key, value) values ('demo_seeded_at', now()::text)
         on conflict do nothing returning key"
    )
    .fetch_optional(&mut *tx)
    .await?;
    if first.is_none() {
        return Ok(false);
    }

    let mut ids = Ids(0);
    let login = |role: Role| {
        app::demo::ACCOUNTS
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, l)| *l)
            .unwrap_or_default()
    };
    let mut user = async |tx: &mut sqlx::PgConnection,
                          email: &str,
                          name: &str,
                          role: Role|
           -> Result<Uuid, AppError> {
        let id = ids.next();
        sqlx::query!(
            "insert into users (id, email, display_name, password_hash, role) values ($1, $2, $3, $4, $5)",
            id,
            email,
            name,
            hash,
            role.as_str()
        )
        .execute(tx)
        .await?;
        Ok(id)
    };
    let _customer = user(&mut tx, login(Role::Customer), "李娜 Li Na", Role::Customer).await?;
    let merchant = user(
        &mut tx,
        login(Role::Merchant),
        "陈老板 Boss Chen",
        Role::Merchant,
    )
    .await?;
    let _ops = user(&mut tx, login(Role::Ops), "运营 Ops Desk", Role::Ops).await?;
    let mut couriers = Vec::new();
    for (i, name) in COURIER_NAMES.iter().enumerate() {
        let email = if i == 0 {
            login(Role::Courier).to_string()
        } else {
            format!("courier{:02}@songda.test", i + 1)
        };
        couriers.push(user(&mut tx, &email, name, Role::Courier).await?);
    }

    for (i, courier) in couriers.iter().enumerate() {
        let vehicle = ["ebike", "ebike", "scooter", "bicycle"][i % 4];
        let (capacity, speed) = match vehicle {
            "bicycle" => (3, 14),
            "scooter" => (6, 25),
            _ => (5, 20),
        };
        // Homes spread around the stores, ~1 km apart.
        let store = &STORES[i % STORES.len()];
        let (dlat, dlng) = (((i * 7) % 11) as f64 - 5.0, ((i * 5) % 9) as f64 - 4.0);
        sqlx::query!(
            "insert into couriers (user_id, vehicle, capacity, speed_kmh, home_lat, home_lng)
             values ($1, $2, $3, $4, $5, $6)",
            courier,
            vehicle,
            capacity,
            speed,
            store.lat + dlat * 0.002,
            store.lng + dlng * 0.002
        )
        .execute(&mut *tx)
        .await?;
    }

    // Songda Mart's branches form one chain: a delivery goes to the branch that has everything.
    let chain_id = ids.next();
    sqlx::query!(
        "insert into chains (id, name) values ($1, '送达超市 Songda Mart')",
        chain_id
    )
    .execute(&mut *tx)
    .await?;
    for (si, spec) in STORES.iter().enumerate() {
        let store_id = ids.next();
        sqlx::query!(
            "insert into stores (id, slug, name, kind, address, lat, lng, delivery_radius_m, prep_time_min,
                                 min_order_fen, packaging_fee_fen, rating_x10)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            store_id,
            spec.slug,
            spec.name,
            spec.kind,
            spec.address,
            spec.lat,
            spec.lng,
            spec.radius_m,
            spec.prep_min,
            spec.min_order_fen,
            spec.packaging_fen,
            spec.rating_x10
        )
        .execute(&mut *tx)
        .await?;
        // Spend-and-save (满减) at the supermarkets, and capped slots where orders are made
        // by hand (cakes, bouquets), so the demo shows both.
        let (discount, slot_capacity) = match spec.kind {
            "grocery" => (Some((6000i64, 600i64)), None),
            "fresh" => (Some((8000, 1000)), None),
            "bakery" => (None, Some(4)),
            "flowers" => (None, Some(3)),
            _ => (None, None),
        };
        sqlx::query!(
            "update stores set discount_threshold_fen = $2, discount_fen = $3, slot_capacity = $4,
                               chain_id = $5
             where id = $1",
            store_id,
            discount.map(|d| d.0),
            discount.map(|d| d.1),
            slot_capacity,
            spec.slug.starts_with("songda-mart").then_some(chain_id)
        )
        .execute(&mut *tx)
        .await?;
        // The demo merchant owns the Songda Mart chain and helps out at one bakery.
        let member = match spec.slug {
            s if s.starts_with("songda-mart") => Some("owner"),
            "maifeng-bakery-xujiahui" => Some("staff"),
            _ => None,
        };
        if let Some(role) = member {
            sqlx::query!(
                "insert into store_members (store_id, user_id, role) values ($1, $2, $3)",
                store_id,
                merchant,
                role
            )
            .execute(&mut *tx)
            .await?;
        }
        let (days, opens, closes): (Vec<i16>, Vec<String>, Vec<String>) =
            hours(spec).into_iter().fold(
                (vec![], vec![], vec![]),
                |(mut d, mut o, mut c), (day, op, cl)| {
                    d.push(day);
                    o.push(op.to_string());
                    c.push(cl.to_string());
                    (d, o, c)
                },
            );
        sqlx::query!(
            "insert into store_hours (store_id, weekday, opens, closes)
             select $1, d, o::time, c::time from unnest($2::smallint[], $3::text[], $4::text[]) as t(d, o, c)",
            store_id,
            &days,
            &opens,
            &closes
        )
        .execute(&mut *tx)
        .await?;

        let mut product_ids = Vec::new();
        let mut category_ids = Vec::new();
        let mut names = Vec::new();
        let mut units = Vec::new();
        let mut prices = Vec::new();
        let mut on_hand = Vec::new();
        for (position, (category, items)) in catalog(spec.kind).iter().enumerate() {
            let category_id = ids.next();
            sqlx::query!(
                "insert into categories (id, store_id, name, position) values ($1, $2, $3, $4)",
                category_id,
                store_id,
                category,
                position as i32
            )
            .execute(&mut *tx)
            .await?;
            for (pi, (name, unit, price)) in items.iter().enumerate() {
                product_ids.push(ids.next());
                category_ids.push(category_id);
                names.push(name.to_string());
                units.push(unit.to_string());
                // Branches of one chain price a little differently, as real ones do.
                prices.push(price + (si as i64 % 3) * 10);
                // Mostly stocked, some low, a few sold out.
                let n = (si * 31 + position * 17 + pi * 7) % 40;
                on_hand.push(match n {
                    0 => 0,
                    1..=3 => n as i32,
                    _ => 10 + n as i32 * 2,
                });
            }
        }
        sqlx::query!(
            "insert into products (id, store_id, category_id, name, unit, price_fen)
             select id, $1, c, n, u, p from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[])
                 as t(id, c, n, u, p)",
            store_id,
            &product_ids,
            &category_ids,
            &names,
            &units,
            &prices
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into stock_levels (store_id, product_id, on_hand)
             select $1, id, q from unnest($2::uuid[], $3::int[]) as t(id, q)",
            store_id,
            &product_ids,
            &on_hand
        )
        .execute(&mut *tx)
        .await?;
    }
    // Goods handed over only after an ID check at the door.
    for (pattern, kind) in RESTRICTED {
        sqlx::query!(
            "update products set restricted = $2 where name ilike $1",
            pattern,
            kind
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Demo products that are restricted goods (name pattern, kind).
const RESTRICTED: [(&str, &str); 2] = [("%beer%", "alcohol"), ("%Lianhua Qingwen%", "medicine")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_is_big_enough() {
        assert!(STORES.len() >= 12);
        let products: usize = STORES
            .iter()
            .map(|s| {
                catalog(s.kind)
                    .iter()
                    .map(|(_, items)| items.len())
                    .sum::<usize>()
            })
            .sum();
        assert!(products >= 300, "{products}");
        let kinds: std::collections::HashSet<_> = STORES.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.len(), 6);
    }

    #[test]
    fn ids_are_deterministic_v7() {
        let (mut a, mut b) = (Ids(0), Ids(0));
        let (x, y) = (a.next(), b.next());
        assert_eq!(x, y);
        assert_eq!(x.get_version_num(), 7);
        assert_ne!(a.next(), x);
    }
}
