"""What simulated citizens say: a catalogue of everyday issues across the taxonomy's
categories, each worded several ways, at places from a city's street and community names.

`CaseWriter.write(issue, rng)` gives one case's summary (the agent's words), transcript
(the caller's, with greetings and filler), category, department and address. The texts
are made so that `ivr.cases.places` reads back the place they were given.
Used by ivr.sim.case_stream (a day of traffic, injected surges), the tests and the bench.
"""

from __future__ import annotations

import dataclasses
import random

from ivr.cases.places import Place, places_in

# name stems, space-separated (lists of quoted pairs of characters read worse)
_ROAD_STEMS = """
人民 解放 建设 中山 和平 新华 长江 黄河 青年 胜利 文化 光明 幸福
友谊 东风 朝阳 迎宾 滨河 环城 南湖 北京 上海 延安 工农 红旗 振兴
团结 民主 复兴 富强 育才 学府 科技 工业 花园 春晖 望江 临江 沿河
金桥 银河 海棠 玉兰 梧桐 桃源 龙泉 凤凰 锦江 秀水 清风 明月 太平
永安 长寿 嘉禾 南京 广州 深圳 天津 重庆 成都 西安 武汉 杭州 苏州 长沙
福州 昆明 南宁 贵阳 兰州 银川 太原 济南 郑州 合肥 南昌 沈阳 长春
""".split()  # noqa: SIM905
_DIRECTIONS = ("", "东", "西", "南", "北", "中")
_ROAD_ENDS = ("路", "街", "大道")
_ESTATE_STEMS = """
阳光 金色 翠苑 锦绣 丽景 碧水 康乐 东方 枫林 桂花 香榭 御景 华府
紫荆 书香 晨曦 馨园 瑞祥 盛世 天逸 怡景 颐和 水岸 云顶 绿洲 星河
和谐 欣悦 安居 乐业 福泰 兴隆 春江 秋月 夏荷 冬梅 百合 茉莉 芙蓉
牡丹 杜鹃 丁香 蔷薇 翡翠 琥珀 珍珠 玛瑙 水晶 金辉 银杏 松涛 竹韵 兰亭
梅园 荷塘 柳岸 枫丹 香山 景秀 嘉园 瑞景 华庭 世纪 时代 海岸 湖畔 江南
北岸 南岸 东城 西城
""".split()  # noqa: SIM905
_ESTATE_ENDS = ("小区", "花园", "家园", "新村", "公寓")
SHOPS = ("超市", "菜市场", "便利店", "农贸市场", "商场")
_OPENERS = ("喂，你好，", "你好，我想反映个事，", "您好，", "", "你好，麻烦问一下，", "喂，")
_CLOSERS = ("希望尽快处理。", "麻烦你们派人来看看。", "谢谢。", "", "请相关部门管一管。", "")
_TIMES = ("晚上十点以后", "每天早上六点", "凌晨一两点", "中午", "一到周末")
ADDRESS_KNOWN = 0.8  # share of callers naming only a street who give the number when asked
_DAYS = ("三天", "一个星期", "好几天", "半个月", "两天")


@dataclasses.dataclass(frozen=True)
class Issue:
    """A kind of request, how often it comes, and ways of putting it ({spot}, {place}...)."""

    key: str
    category: str
    department: str
    weight: float
    summaries: tuple[str, ...]
    sayings: tuple[str, ...]


def _issue(key: str, category: str, department: str, weight: float, *texts: str) -> Issue:
    # summaries start with "S:", the rest is what callers say
    summaries = tuple(t[2:] for t in texts if t.startswith("S:"))
    return Issue(
        key, category, department, weight, summaries, tuple(t for t in texts if t[:2] != "S:")
    )


URBAN, WATER, POLICE = "市城管执法局", "市水务局", "市公安局"
# A table: each issue's key, category, department and weight, then its summaries (S:)
# and what callers say.
# fmt: off
ISSUES = (
    _issue("streetlight", "urban", URBAN, 6,
           "S:{spot}路灯不亮", "S:{spot}附近路灯损坏", "{spot}的路灯坏了{days}了，晚上黑乎乎的",
           "我家住在{spot}，楼下路灯一直不亮", "{spot}那边路灯灭了，晚上走路看不见"),
    _issue("stall", "urban", URBAN, 4,
           "S:{place}占道经营", "S:{spot}流动摊贩占道", "{place}好多小摊占道经营，人行道都走不了",
           "{spot}门口天天有人摆摊卖菜，堵得车过不去"),
    _issue("manhole", "urban", URBAN, 2,
           "S:{spot}井盖缺失", "S:{spot}井盖破损", "{spot}路上有个井盖没了，很危险",
           "{spot}的井盖松动了，车压上去哐哐响"),
    _issue("garbage", "urban", URBAN, 5,
           "S:{place}垃圾清运不及时", "S:{spot}垃圾堆积",
           "{place}的垃圾桶满了{days}没人清理，味道很大", "{spot}旁边垃圾堆成山了，苍蝇很多"),
    _issue("road", "urban", URBAN, 3,
           "S:{spot}路面破损", "S:{place}道路坑洼", "{spot}的路面坑坑洼洼，下雨天全是水坑",
           "{place}那段路坏了好大一个坑，电动车摔了好几次"),
    _issue("fumes", "urban", URBAN, 2,
           "S:{spot}餐饮油烟扰民", "{spot}楼下饭店油烟直接往楼上排，窗户都不敢开"),
    _issue("water_cut", "utilities", WATER, 4,
           "S:{place}停水", "S:{spot}无故停水", "{spot}从早上开始停水了，也没有通知",
           "{place}一直没水，家里老人做饭都没法做"),
    _issue("water_pressure", "utilities", WATER, 2,
           "S:{spot}水压低", "{spot}高层水压太低，洗澡都不出水"),
    _issue("power_cut", "utilities", "市供电公司", 3,
           "S:{place}停电", "S:{spot}频繁停电", "{spot}又停电了，这个月第三次了",
           "{place}晚上突然停电，冰箱里的东西都坏了"),
    _issue("heating", "utilities", "市热力公司", 2,
           "S:{spot}暖气不热", "{spot}家里暖气不热，只有十几度"),
    _issue("bus", "transport", "市交通运输局", 3,
           "S:{place}公交车间隔太长", "S:公交车不按站停靠", "{place}站的公交车等了四十分钟都不来",
           "公交司机不按站停车，在{place}站直接开过去了"),
    _issue("taxi", "transport", "市交通运输局", 2,
           "S:出租车拒载", "S:出租车绕远多收费", "在{place}打车，出租车司机嫌近拒载",
           "出租车故意绕远，从{place}过来多收了三十块"),
    _issue("wages", "labor", "市人社局", 3,
           "S:{place}工地拖欠工资", "S:公司拖欠工资",
           "我在{place}的工地干活，老板拖欠工资三个月了",
           "公司已经两个月不发工资了，找老板也找不到"),
    _issue("social_insurance", "labor", "市人社局", 3,
           "S:咨询社保转移", "S:咨询养老保险缴费", "我想问一下社保怎么从外地转过来",
           "咨询一下灵活就业人员养老保险怎么缴"),
    _issue("factory_pollution", "environment", "市生态环境局", 2,
           "S:{place}工厂排放废气", "S:{place}企业偷排污水",
           "{place}那边的工厂晚上偷偷排废气，气味很刺鼻", "{place}有个厂往河里排污水，水都黑了"),
    _issue("river_smell", "environment", "市生态环境局", 1,
           "S:{place}河道发臭", "{place}旁边的河沟发臭，夏天根本没法开窗"),
    _issue("neighbour_noise", "public_security", POLICE, 3,
           "S:{spot}邻居噪音扰民", "{spot}楼上邻居{time}还在蹦跳，吵得睡不着",
           "{spot}隔壁天天半夜大声放音乐"),
    _issue("parking", "public_security", POLICE, 4,
           "S:{spot}车辆乱停", "S:{place}违章停车堵塞通行",
           "{spot}门口有车乱停，把消防通道都堵了", "{place}路边停满了车，救护车都进不来"),
    _issue("hukou", "public_security", POLICE, 2,
           "S:咨询户口迁移", "S:咨询身份证办理", "我想问一下孩子上户口需要什么材料",
           "身份证丢了补办要去哪里办"),
    _issue("product", "market", "市市场监管局", 3,
           "S:{place}商家销售假冒商品", "S:反映商品质量问题",
           "在{place}一家店买的电饭煲用了两天就坏了，商家不给退", "{place}的店卖假名牌鞋"),
    _issue("prepaid", "market", "市市场监管局", 3,
           "S:{place}健身房预付卡无法退费", "S:{place}理发店关门跑路",
           "{place}的健身房突然关门了，办的卡还剩好几千",
           "{place}那家理发店卷钱走人，充的会员卡没法用"),
    _issue("food_safety", "market", "市市场监管局", 2,
           "S:{place}餐馆卫生差", "S:{place}超市食品过期", "在{place}的饭店吃饭吃出虫子",
           "{place}超市卖过期的牛奶"),
    _issue("property_register", "land", "市自然资源局", 2,
           "S:咨询不动产登记", "咨询一下房产证办理要多久"),
    _issue("village_road", "rural", "市农业农村局", 1,
           "S:村道破损", "我们村里的路坑坑洼洼好几年了没人修"),
    _issue("lift", "housing", "市住建局", 4,
           "S:{spot}电梯故障", "S:{spot}电梯经常停运", "{spot}的电梯又坏了，老人上下楼太难了",
           "{spot}电梯老是卡在半路，很吓人"),
    _issue("property_mgmt", "housing", "市住建局", 4,
           "S:{place}物业不作为", "S:{place}物业乱收费",
           "{place}物业什么都不管，楼道灯坏了也不修", "{place}的物业费涨了还不给解释"),
    _issue("leak", "housing", "市住建局", 2,
           "S:{spot}房屋漏水", "{spot}楼上卫生间漏水，我家天花板都泡坏了"),
    _issue("school_place", "education", "市教育局", 2,
           "S:咨询入学学位", "孩子明年上小学，想问一下学区怎么划分"),
    _issue("tutoring", "education", "市教育局", 1,
           "S:校外培训机构退费难", "{place}的培训机构关门了，学费退不回来"),
    _issue("medical_insurance", "health", "市卫健委", 3,
           "S:咨询医保报销", "S:咨询异地就医备案", "住院费用医保能报多少",
           "在外地住院，医保要怎么备案"),
    _issue("hospital", "health", "市卫健委", 1,
           "S:反映医院服务态度差", "在医院看病，护士态度很差"),
    _issue("subsistence", "civil", "市民政局", 2,
           "S:咨询低保申请", "家里困难，想问问低保怎么申请"),
    _issue("elderly", "civil", "市民政局", 1,
           "S:咨询高龄补贴", "我父亲八十岁了，高龄补贴怎么领"),
    _issue("enquiry", "other", "12345热线直接答复", 4,
           "S:咨询办事电话", "S:咨询政策", "想问一下公积金中心的电话是多少",
           "请问人才补贴的政策在哪里能查到"),
)
NOISE = _issue("noise", "urban", "", 0,
    "S:{spot}噪音扰民", "S:{place}夜间噪音", "{spot}楼上装修电钻声太吵了",
    "{place}广场舞的音响声音特别大，吵得孩子没法写作业",
    "{spot}旁边工地{time}还在施工，噪音大得睡不着", "{place}楼下的酒吧唱歌到半夜，太扰民了",
    "{spot}的空调外机轰鸣，吵了{days}了", "{place}夜里有人飙车，轰鸣声把人吵醒")
SALT = _issue("salt", "market", "市市场监管局", 0,
    "S:反映食盐抢购、{shop}缺货", "S:咨询食盐供应是否充足", "S:反映{shop}食盐断货买不到盐",
    "S:反映食盐涨价、哄抬物价", "S:反映市民囤积食盐",
    "听说盐要涨价了，{place}的{shop}食盐都被抢光了",
    "{place}的{shop}碘盐断货了，排了好长的队也买不到盐",
    "现在到处都在抢购食盐，是不是真的要缺盐了", "家里没盐了，跑了三家{shop}都买不到",
    "{place}那家{shop}的盐一下子卖光了，货架全空了，老人很着急",
    "网上说吃碘盐能防辐射，大家都去囤盐，盐到底够不够",
    "食盐价格涨了好几倍，{shop}一袋盐卖二十块，这是哄抬物价",
    "请问政府有没有储备食盐，现在买不到盐了", "我们{place}门口{shop}的盐被人一箱一箱地买走了",
    "盐巴脱销了，{shop}什么时候能补货")
# fmt: on


def place_names(count: int = 2000) -> list[str]:
    """A city's street and community names (deterministic, at most every combination)."""
    roads = [s + d + e for d in _DIRECTIONS for e in _ROAD_ENDS for s in _ROAD_STEMS]
    estates = [stem + end for end in _ESTATE_ENDS for stem in _ESTATE_STEMS]
    mixed = [name for pair in zip(roads, estates, strict=False) for name in pair]
    mixed += roads[len(estates) :] + estates[len(roads) :]
    return [name for name in mixed if _readable(name)][:count]


def _readable(name: str) -> bool:
    # ivr.cases.places cuts a name at 和, 上, 里... and ends one at 苑 or 村: leave those out
    return places_in(f"在{name}12号门口") == (Place(name, 12),)


@dataclasses.dataclass(frozen=True)
class Written:
    """One case's texts and routing."""

    summary: str
    transcript: str
    category: str
    department: str
    address: str | None


class CaseWriter:
    """Words cases about issues at the city's places."""

    def __init__(self, places: list[str] | None = None) -> None:
        self.places = places or place_names()
        # a few places are busy, most are quiet (a Zipf-like popularity)
        self.place_weights = [1 / (rank + 30) for rank in range(len(self.places))]

    def place(self, rng: random.Random) -> str:
        """A place, the busier ones more often."""
        return rng.choices(self.places, self.place_weights)[0]

    def write(
        self, issue: Issue, rng: random.Random, place: str | None = None, number: int | None = None
    ) -> Written:
        """One case about `issue` (at `place`, door `number` when given, else anywhere)."""
        name = place or self.place(rng)
        door = number if number is not None else rng.randint(1, 240)
        unit = "栋" if name.endswith(_ESTATE_ENDS) else "号"
        slots = {
            "spot": f"{name}{door}{unit}",
            "place": name,
            "shop": rng.choice(SHOPS),
            "time": rng.choice(_TIMES),
            "days": rng.choice(_DAYS),
        }
        said, summed = rng.choice(issue.sayings), rng.choice(issue.summaries)
        transcript = rng.choice(_OPENERS) + said.format(**slots) + "，" + rng.choice(_CLOSERS)
        templates = said + summed
        address: str | None = None
        if "{spot}" in templates or "{place}" in templates:
            # the agent asks for the door number; a few callers do not know it
            known = "{spot}" in templates or rng.random() < ADDRESS_KNOWN
            address = slots["spot"] if known else name
        return Written(
            summed.format(**slots),
            transcript.rstrip("，"),
            issue.category,
            issue.department,
            address,
        )


def issue(key: str) -> Issue:
    """The everyday issue (or NOISE, SALT) called `key`."""
    for known in (*ISSUES, NOISE, SALT):
        if known.key == key:
            return known
    raise KeyError(key)
