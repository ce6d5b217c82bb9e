"""Word lists the demo data is built from: people's names, company-name parts, departments, titles,
places, and the demo vendor's own content (whitepapers, pages, forms).

Every name carries its katakana reading (フリガナ, as forms ask for it) and a romaji spelling as
people use it in email addresses (``sato``, not the strict ``satou``). Company-name parts are
generic words; combinations that are household names are left out on purpose.

All email domains the demo builds live under names reserved for examples (``example.co.jp`` and
its JPRS siblings, RFC 2606's ``example.com``), so no demo address can reach a real mailbox.
"""

from __future__ import annotations

from typing import NamedTuple

from sokyaku.contacts.models import Industry


class Word(NamedTuple):
    """A word with its katakana reading and its romaji spelling."""

    text: str
    kana: str
    romaji: str


def _words(rows: str) -> tuple[Word, ...]:
    """``text kana romaji`` per line (the compact form the lists below are written in)."""
    return tuple(Word(*line.split()) for line in rows.strip().splitlines())


# --- People -----------------------------------------------------------------------------------

# The most common surnames, plus a few registered spellings with 異体字 (髙橋, 山﨑, 渡邊) that
# real customer lists always contain.
SURNAMES = _words(
    """
    佐藤 サトウ sato
    鈴木 スズキ suzuki
    高橋 タカハシ takahashi
    田中 タナカ tanaka
    伊藤 イトウ ito
    渡辺 ワタナベ watanabe
    山本 ヤマモト yamamoto
    中村 ナカムラ nakamura
    小林 コバヤシ kobayashi
    加藤 カトウ kato
    吉田 ヨシダ yoshida
    山田 ヤマダ yamada
    佐々木 ササキ sasaki
    山口 ヤマグチ yamaguchi
    松本 マツモト matsumoto
    井上 イノウエ inoue
    木村 キムラ kimura
    林 ハヤシ hayashi
    斎藤 サイトウ saito
    清水 シミズ shimizu
    山崎 ヤマザキ yamazaki
    森 モリ mori
    池田 イケダ ikeda
    橋本 ハシモト hashimoto
    阿部 アベ abe
    石川 イシカワ ishikawa
    山下 ヤマシタ yamashita
    中島 ナカジマ nakajima
    石井 イシイ ishii
    小川 オガワ ogawa
    前田 マエダ maeda
    岡田 オカダ okada
    長谷川 ハセガワ hasegawa
    藤田 フジタ fujita
    後藤 ゴトウ goto
    近藤 コンドウ kondo
    村上 ムラカミ murakami
    遠藤 エンドウ endo
    青木 アオキ aoki
    坂本 サカモト sakamoto
    斉藤 サイトウ saito
    福田 フクダ fukuda
    太田 オオタ ota
    西村 ニシムラ nishimura
    藤井 フジイ fujii
    金子 カネコ kaneko
    岡本 オカモト okamoto
    藤原 フジワラ fujiwara
    中野 ナカノ nakano
    三浦 ミウラ miura
    原田 ハラダ harada
    中川 ナカガワ nakagawa
    松田 マツダ matsuda
    竹内 タケウチ takeuchi
    小野 オノ ono
    田村 タムラ tamura
    中山 ナカヤマ nakayama
    和田 ワダ wada
    石田 イシダ ishida
    森田 モリタ morita
    上田 ウエダ ueda
    原 ハラ hara
    内田 ウチダ uchida
    柴田 シバタ shibata
    酒井 サカイ sakai
    宮崎 ミヤザキ miyazaki
    横山 ヨコヤマ yokoyama
    高木 タカギ takagi
    安藤 アンドウ ando
    宮本 ミヤモト miyamoto
    大野 オオノ ohno
    小島 コジマ kojima
    谷口 タニグチ taniguchi
    今井 イマイ imai
    工藤 クドウ kudo
    高田 タカダ takada
    増田 マスダ masuda
    丸山 マルヤマ maruyama
    杉山 スギヤマ sugiyama
    村田 ムラタ murata
    大塚 オオツカ otsuka
    新井 アライ arai
    小山 コヤマ koyama
    平野 ヒラノ hirano
    藤本 フジモト fujimoto
    河野 コウノ kono
    上野 ウエノ ueno
    野口 ノグチ noguchi
    武田 タケダ takeda
    松井 マツイ matsui
    千葉 チバ chiba
    岩崎 イワサキ iwasaki
    菅原 スガワラ sugawara
    木下 キノシタ kinoshita
    久保 クボ kubo
    佐野 サノ sano
    野村 ノムラ nomura
    松尾 マツオ matsuo
    市川 イチカワ ichikawa
    菊地 キクチ kikuchi
    杉本 スギモト sugimoto
    古川 フルカワ furukawa
    大西 オオニシ onishi
    島田 シマダ shimada
    水野 ミズノ mizuno
    桜井 サクライ sakurai
    高野 タカノ takano
    吉川 ヨシカワ yoshikawa
    山内 ヤマウチ yamauchi
    西田 ニシダ nishida
    飯田 イイダ iida
    菅野 カンノ kanno
    髙橋 タカハシ takahashi
    山﨑 ヤマザキ yamazaki
    渡邊 ワタナベ watanabe
    """
)

# How often each surname is drawn: the top of the list is much more common (roughly Zipf).
SURNAME_WEIGHTS = tuple(1.0 / (rank + 8) for rank in range(len(SURNAMES)))

GIVEN_NAMES_MALE = _words(
    """
    翔太 ショウタ shota
    大輔 ダイスケ daisuke
    健太 ケンタ kenta
    拓也 タクヤ takuya
    直樹 ナオキ naoki
    誠 マコト makoto
    剛 ツヨシ tsuyoshi
    和也 カズヤ kazuya
    達也 タツヤ tatsuya
    浩二 コウジ koji
    隆 タカシ takashi
    修 オサム osamu
    健一 ケンイチ kenichi
    大樹 ダイキ daiki
    亮 リョウ ryo
    翼 ツバサ tsubasa
    蓮 レン ren
    悠斗 ユウト yuto
    陽翔 ハルト haruto
    大翔 ヒロト hiroto
    一郎 イチロウ ichiro
    健二 ケンジ kenji
    秀樹 ヒデキ hideki
    雅之 マサユキ masayuki
    裕介 ユウスケ yusuke
    俊介 シュンスケ shunsuke
    智也 トモヤ tomoya
    慎一 シンイチ shinichi
    哲也 テツヤ tetsuya
    康弘 ヤスヒロ yasuhiro
    博之 ヒロユキ hiroyuki
    信也 シンヤ shinya
    正人 マサト masato
    浩 ヒロシ hiroshi
    学 マナブ manabu
    聡 サトシ satoshi
    徹 トオル toru
    大介 ダイスケ daisuke
    洋平 ヨウヘイ yohei
    翔 ショウ sho
    圭 ケイ kei
    光 ヒカル hikaru
    智 サトル satoru
    勇気 ユウキ yuki
    涼介 リョウスケ ryosuke
    匠 タクミ takumi
    航 ワタル wataru
    颯太 ソウタ sota
    拓海 タクミ takumi
    雄一 ユウイチ yuichi
    """
)

GIVEN_NAMES_FEMALE = _words(
    """
    陽子 ヨウコ yoko
    恵子 ケイコ keiko
    美穂 ミホ miho
    由美 ユミ yumi
    直美 ナオミ naomi
    真由美 マユミ mayumi
    裕子 ユウコ yuko
    智子 トモコ tomoko
    久美子 クミコ kumiko
    明美 アケミ akemi
    さくら サクラ sakura
    美咲 ミサキ misaki
    愛 アイ ai
    彩 アヤ aya
    舞 マイ mai
    麻衣 マイ mai
    優子 ユウコ yuko
    香織 カオリ kaori
    恵 メグミ megumi
    沙織 サオリ saori
    千尋 チヒロ chihiro
    奈々 ナナ nana
    遥 ハルカ haruka
    結衣 ユイ yui
    陽菜 ヒナ hina
    葵 アオイ aoi
    凛 リン rin
    芽衣 メイ mei
    美紀 ミキ miki
    理恵 リエ rie
    亜希子 アキコ akiko
    洋子 ヨウコ yoko
    幸子 サチコ sachiko
    典子 ノリコ noriko
    真理子 マリコ mariko
    純子 ジュンコ junko
    綾香 アヤカ ayaka
    瞳 ヒトミ hitomi
    彩花 アヤカ ayaka
    七海 ナナミ nanami
    菜摘 ナツミ natsumi
    友美 トモミ tomomi
    早紀 サキ saki
    加奈子 カナコ kanako
    絵美 エミ emi
    里美 サトミ satomi
    紀子 ノリコ noriko
    麻美 アサミ asami
    由紀 ユキ yuki
    望 ノゾミ nozomi
    """
)

# --- Companies --------------------------------------------------------------------------------

# Classic kanji words Japanese company names are made of.
CLASSIC_STEMS = _words(
    """
    日本 ニホン nihon
    東洋 トウヨウ toyo
    中央 チュウオウ chuo
    北陸 ホクリク hokuriku
    関西 カンサイ kansai
    東海 トウカイ tokai
    九州 キュウシュウ kyushu
    北斗 ホクト hokuto
    朝日 アサヒ asahi
    日進 ニッシン nisshin
    昭和 ショウワ showa
    三友 サンユウ sanyu
    千代田 チヨダ chiyoda
    湘南 ショウナン shonan
    瀬戸内 セトウチ setouchi
    扶桑 フソウ fuso
    光洋 コウヨウ koyo
    太陽 タイヨウ taiyo
    平和 ヘイワ heiwa
    共栄 キョウエイ kyoei
    第一 ダイイチ daiichi
    明治 メイジ meiji
    大同 ダイドウ daido
    協和 キョウワ kyowa
    誠和 セイワ seiwa
    栄光 エイコウ eiko
    丸和 マルワ maruwa
    山陽 サンヨウ sanyo
    北辰 ホクシン hokushin
    桜 サクラ sakura
    青葉 アオバ aoba
    若葉 ワカバ wakaba
    白鷺 シラサギ shirasagi
    飛鳥 アスカ asuka
    葵 アオイ aoi
    東亜 トウア toa
    新光 シンコウ shinko
    常盤 トキワ tokiwa
    菱和 リョウワ ryowa
    弘進 コウシン koshin
    """
)

# Coined katakana words, the other half of modern company names.
KATAKANA_STEMS = _words(
    """
    ネクスト ネクスト next
    クロス クロス cross
    ブライト ブライト bright
    アーク アーク arc
    リンク リンク link
    フューチャー フューチャー future
    グローバル グローバル global
    スマート スマート smart
    ミライ ミライ mirai
    エール エール yell
    ソレイユ ソレイユ soleil
    アルファ アルファ alpha
    ベクトル ベクトル vector
    シード シード seed
    ノヴァ ノヴァ nova
    ルミナ ルミナ lumina
    ステラ ステラ stella
    オーロラ オーロラ aurora
    ブルーム ブルーム bloom
    ハーモニー ハーモニー harmony
    ウィズ ウィズ with
    トラスト トラスト trust
    ライズ ライズ rise
    フロンティア フロンティア frontier
    クレスト クレスト crest
    エッジ エッジ edge
    コア コア core
    プライム プライム prime
    ユニオン ユニオン union
    リーフ リーフ leaf
    ウェーブ ウェーブ wave
    サミット サミット summit
    パシフィック パシフィック pacific
    オリオン オリオン orion
    ヴィスタ ヴィスタ vista
    ジェネシス ジェネシス genesis
    アクシス アクシス axis
    コスモ コスモ cosmo
    ネオ ネオ neo
    マリン マリン marine
    """
)

# What follows the stem, by JSIC division. ``SURNAME_SUFFIXES`` are the ones a family business
# puts after the founder's surname (山田工業, 鈴木建設).
INDUSTRY_SUFFIXES: dict[str, tuple[Word, ...]] = {
    Industry.AGRICULTURE: _words(
        "農産 ノウサン nosan\nファーム ファーム farm\n林業 リンギョウ ringyo"
    ),
    Industry.FISHERIES: _words(
        "水産 スイサン suisan\n漁業 ギョギョウ gyogyo\nマリンフーズ マリンフーズ marinefoods"
    ),
    Industry.MINING: _words("鉱業 コウギョウ kogyo\n砕石 サイセキ saiseki\n資源 シゲン shigen"),
    Industry.CONSTRUCTION: _words(
        "建設 ケンセツ kensetsu\n工務店 コウムテン komuten\n組 グミ gumi\nハウス ハウス house\n"
        "設備工業 セツビコウギョウ setsubi\n土木 ドボク doboku"
    ),
    Industry.MANUFACTURING: _words(
        "工業 コウギョウ kogyo\n製作所 セイサクショ seisakusho\n電機 デンキ denki\n"
        "精機 セイキ seiki\n化学 カガク kagaku\n食品 ショクヒン foods\n金属 キンゾク kinzoku\n"
        "機械 キカイ kikai\n製薬 セイヤク seiyaku\nテクノ テクノ techno"
    ),
    Industry.UTILITIES: _words(
        "エネルギー エネルギー energy\n新電力 シンデンリョク power\nガスサービス ガスサービス gas"
    ),
    Industry.INFORMATION: _words(
        "システムズ システムズ systems\nテクノロジーズ テクノロジーズ tech\nソフト ソフト soft\n"
        "ネットワークス ネットワークス networks\nデータ データ data\n"
        "ソリューションズ ソリューションズ solutions\nデジタル デジタル digital\n"
        "情報システム ジョウホウシステム joho\nクラウド クラウド cloud\nラボ ラボ lab"
    ),
    Industry.TRANSPORT: _words(
        "運輸 ウンユ unyu\n物流 ブツリュウ butsuryu\nロジスティクス ロジスティクス logistics\n"
        "交通 コウツウ kotsu\n海運 カイウン kaiun"
    ),
    Industry.TRADE: _words(
        "商事 ショウジ shoji\n商会 ショウカイ shokai\n物産 ブッサン bussan\n"
        "通商 ツウショウ tsusho\nトレーディング トレーディング trading\nリテール リテール retail"
    ),
    Industry.FINANCE: _words(
        "ファイナンス ファイナンス finance\nキャピタル キャピタル capital\n証券 ショウケン shoken\n"
        "保険サービス ホケンサービス hoken\nペイメント ペイメント payment"
    ),
    Industry.REAL_ESTATE: _words(
        "不動産 フドウサン fudosan\n地所 ジショ jisho\nエステート エステート estate\n"
        "リース リース lease\nレンタル レンタル rental"
    ),
    Industry.PROFESSIONAL: _words(
        "コンサルティング コンサルティング consulting\n総研 ソウケン soken\n"
        "研究所 ケンキュウジョ lab\nデザイン デザイン design\nパートナーズ パートナーズ partners\n"
        "エンジニアリング エンジニアリング engineering"
    ),
    Industry.HOSPITALITY: _words(
        "フーズ フーズ foods\nダイニング ダイニング dining\nホテルズ ホテルズ hotels\n"
        "観光 カンコウ kanko"
    ),
    Industry.LIVING: _words(
        "ライフ ライフ life\nビューティー ビューティー beauty\nトラベル トラベル travel\n"
        "ウェディング ウェディング wedding"
    ),
    Industry.EDUCATION: _words(
        "アカデミー アカデミー academy\n教育 キョウイク kyoiku\nゼミナール ゼミナール seminar\n"
        "ラーニング ラーニング learning"
    ),
    Industry.MEDICAL: _words(
        "メディカル メディカル medical\nケア ケア care\nヘルスケア ヘルスケア healthcare\n"
        "ファーマシー ファーマシー pharmacy"
    ),
    Industry.COMPOUND: _words(
        "サービス サービス service\nネットサービス ネットサービス netservice"
    ),
    Industry.SERVICES: _words(
        "サービス サービス service\nスタッフィング スタッフィング staffing\n"
        "ビルメンテナンス ビルメンテナンス bm\n警備保障 ケイビホショウ keibi\n"
        "アウトソーシング アウトソーシング outsourcing"
    ),
    Industry.GOVERNMENT: (),  # named after places instead, see GOVERNMENT_BUREAUS
    Industry.UNCLASSIFIED: _words("グループ グループ group\nホールディングス ホールディングス hd"),
}

SURNAME_SUFFIXES = frozenset(
    {
        "工業",
        "製作所",
        "建設",
        "工務店",
        "組",
        "商事",
        "商会",
        "運輸",
        "不動産",
        "水産",
        "農産",
        "設備工業",
    }
)

# Where a subsidiary or a regional branch company says it is (日本システムズ関西).
REGION_QUALIFIERS = _words(
    """
    東日本 ヒガシニホン east
    西日本 ニシニホン west
    関西 カンサイ kansai
    中部 チュウブ chubu
    九州 キュウシュウ kyushu
    北海道 ホッカイドウ hokkaido
    東北 トウホク tohoku
    中国 チュウゴク chugoku
    四国 シコク shikoku
    北陸 ホクリク hokuriku
    首都圏 シュトケン shutoken
    """
)

# Government customers (JSIC S) are city offices and their bureaus.
GOVERNMENT_CITIES = _words(
    """
    横浜市 ヨコハマシ yokohama
    川崎市 カワサキシ kawasaki
    相模原市 サガミハラシ sagamihara
    千葉市 チバシ chiba
    さいたま市 サイタマシ saitama
    名古屋市 ナゴヤシ nagoya
    京都市 キョウトシ kyoto
    神戸市 コウベシ kobe
    福岡市 フクオカシ fukuoka
    北九州市 キタキュウシュウシ kitakyushu
    札幌市 サッポロシ sapporo
    仙台市 センダイシ sendai
    広島市 ヒロシマシ hiroshima
    岡山市 オカヤマシ okayama
    熊本市 クマモトシ kumamoto
    静岡市 シズオカシ shizuoka
    浜松市 ハママツシ hamamatsu
    新潟市 ニイガタシ niigata
    堺市 サカイシ sakai
    金沢市 カナザワシ kanazawa
    """
)
GOVERNMENT_CITY_PREFECTURES = {
    "yokohama": 14, "kawasaki": 14, "sagamihara": 14, "chiba": 12, "saitama": 11, "nagoya": 23,
    "kyoto": 26, "kobe": 28, "fukuoka": 40, "kitakyushu": 40, "sapporo": 1, "sendai": 4,
    "hiroshima": 34, "okayama": 33, "kumamoto": 43, "shizuoka": 22, "hamamatsu": 22,
    "niigata": 15, "sakai": 27, "kanazawa": 17,
}  # fmt: skip
GOVERNMENT_BUREAUS = _words(
    """
    役所 ヤクショ office
    経済局 ケイザイキョク keizai
    デジタル統括本部 デジタルトウカツホンブ digital
    産業振興課 サンギョウシンコウカ sangyo
    教育委員会 キョウイクイインカイ kyoiku
    市民局 シミンキョク shimin
    """
)

# Designations before (前株) or after (後株) the name, with how often each is used.
LEGAL_FORMS_BEFORE = (("株式会社", 0.52), ("有限会社", 0.04), ("合同会社", 0.04))
LEGAL_FORM_AFTER = "株式会社"

# Reserved example zones (JPRS 例示用ドメイン名; RFC 2606) with how often each is used.
COMPANY_DOMAIN_ZONES = (("example.co.jp", 0.72), ("example.jp", 0.18), ("example.com", 0.10))
GOVERNMENT_DOMAIN_ZONE = "example.lg.jp"
FREE_MAIL_DOMAINS = ("mail.example.jp", "mobile.example.ne.jp", "webmail.example.com")

# --- Company size ------------------------------------------------------------------------------

# JSIC division -> weight among the demo vendor's prospects (a B2B SaaS sells mostly to IT and
# manufacturing, then trade and professional services).
INDUSTRY_WEIGHTS: dict[str, float] = {
    Industry.INFORMATION: 25,
    Industry.MANUFACTURING: 20,
    Industry.TRADE: 12,
    Industry.PROFESSIONAL: 10,
    Industry.CONSTRUCTION: 6,
    Industry.FINANCE: 5,
    Industry.TRANSPORT: 4.5,
    Industry.REAL_ESTATE: 4,
    Industry.MEDICAL: 3.5,
    Industry.SERVICES: 3,
    Industry.EDUCATION: 2,
    Industry.HOSPITALITY: 1.5,
    Industry.LIVING: 1.2,
    Industry.GOVERNMENT: 0.6,
    Industry.UTILITIES: 0.5,
    Industry.COMPOUND: 0.3,
    Industry.UNCLASSIFIED: 0.3,
    Industry.AGRICULTURE: 0.3,
    Industry.FISHERIES: 0.2,
    Industry.MINING: 0.1,
}

# Employee band -> (weight, (revenue bands that fit), (min, max) contacts we know there).
EMPLOYEE_BANDS: tuple[tuple[str, float, tuple[str, ...], tuple[int, int]], ...] = (
    ("1-9", 9, ("<100m",), (1, 2)),
    ("10-49", 22, ("<100m", "100m-1b"), (1, 3)),
    ("50-99", 18, ("100m-1b", "1b-5b"), (1, 5)),
    ("100-299", 21, ("1b-5b", "5b-10b"), (2, 8)),
    ("300-999", 16, ("5b-10b", "10b-50b"), (3, 14)),
    ("1000-4999", 10, ("10b-50b", "50b-100b"), (5, 24)),
    ("5000+", 4, ("50b-100b", "100b+"), (8, 40)),
)

# --- Places -----------------------------------------------------------------------------------

# Prefecture code -> weight of companies headquartered there (business is concentrated in the
# big five; everywhere else has some).
PREFECTURE_WEIGHTS: dict[int, float] = {
    13: 36,  # 東京都
    27: 11,  # 大阪府
    23: 7.5,  # 愛知県
    14: 7,  # 神奈川県
    40: 4.5,  # 福岡県
    11: 2.5,  # 埼玉県
    12: 2,  # 千葉県
    28: 2.5,  # 兵庫県
    1: 2,  # 北海道
    26: 1.8,  # 京都府
    22: 1.8,  # 静岡県
    34: 1.5,  # 広島県
    4: 1.3,  # 宮城県
}
OTHER_PREFECTURE_WEIGHT = 0.45

# Real postal codes of business districts, per prefecture: (postal code, city, town).
POSTAL_ADDRESSES: dict[int, tuple[tuple[str, str, str], ...]] = {
    1: (("060-0007", "札幌市中央区", "北七条西"),),
    2: (("030-0111", "青森市", "荒川"),),
    3: (("020-0002", "盛岡市", "桜台"),),
    4: (("980-0004", "仙台市青葉区", "宮町"),),
    5: (("010-0001", "秋田市", "中通"),),
    6: (("990-0002", "山形市", "高原町"),),
    7: (("960-0102", "福島市", "鎌田"),),
    8: (("310-0003", "水戸市", "柳河町"),),
    9: (("320-0003", "宇都宮市", "豊郷台"),),
    10: (("370-3571", "前橋市", "池端町"),),
    11: (("330-0802", "さいたま市大宮区", "宮町"),),
    12: (("260-0002", "千葉市中央区", "旭町"),),
    13: (
        ("100-0005", "千代田区", "丸の内"),
        ("160-0023", "新宿区", "西新宿"),
        ("150-0002", "渋谷区", "渋谷"),
        ("141-0032", "品川区", "大崎"),
        ("103-0027", "中央区", "日本橋"),
    ),
    14: (
        ("220-0012", "横浜市西区", "みなとみらい"),
        ("212-0013", "川崎市幸区", "堀川町"),
        ("222-0033", "横浜市港北区", "新横浜"),
    ),
    15: (("950-0073", "新潟市中央区", "日の出"),),
    16: (("930-0002", "富山市", "新富町"),),
    17: (("920-0003", "金沢市", "疋田"),),
    18: (("910-0003", "福井市", "松本"),),
    19: (("400-0002", "甲府市", "小松町"),),
    20: (("380-0801", "長野市", "箱清水"),),
    21: (("500-8003", "岐阜市", "大宮町"),),
    22: (("420-0002", "静岡市葵区", "材木町"),),
    23: (("460-0008", "名古屋市中区", "栄"), ("471-0826", "豊田市", "トヨタ町")),
    24: (("510-0303", "津市", "河芸町東千里"),),
    25: (("520-0001", "大津市", "蓮池町"),),
    26: (("600-8001", "京都市下京区", "真町"),),
    27: (
        ("530-0001", "大阪市北区", "梅田"),
        ("541-0053", "大阪市中央区", "本町"),
        ("532-0011", "大阪市淀川区", "西中島"),
    ),
    28: (("650-0001", "神戸市中央区", "加納町"),),
    29: (("630-1101", "奈良市", "広岡町"),),
    30: (("640-0101", "和歌山市", "大川"),),
    31: (("680-0001", "鳥取市", "浜坂"),),
    32: (("690-0003", "松江市", "朝日町"),),
    33: (("700-0001", "岡山市北区", "宿"),),
    34: (("730-0001", "広島市中区", "白島北町"),),
    35: (("747-0231", "山口市", "徳地堀"),),
    36: (("770-0001", "徳島市", "春日町"),),
    37: (("760-0003", "高松市", "西町"),),
    38: (("790-0001", "松山市", "一番町"),),
    39: (("780-0001", "高知市", "久礼野"),),
    40: (
        ("812-0011", "福岡市博多区", "博多駅前"),
        ("810-0001", "福岡市中央区", "天神"),
        ("802-0001", "北九州市小倉北区", "浅野"),
    ),
    41: (("840-0001", "佐賀市", "巨勢町修理田"),),
    42: (("850-0002", "長崎市", "木場町"),),
    43: (("860-0002", "熊本市中央区", "本丸"),),
    44: (("870-0002", "大分市", "浜の市"),),
    45: (("880-0002", "宮崎市", "中央通"),),
    46: (("890-0004", "鹿児島市", "下伊敷町"),),
    47: (("900-0001", "那覇市", "港町"),),
}

# Landline area codes (with the leading 0) of each prefecture's main city.
AREA_CODES: dict[int, str] = {
    1: "011", 2: "017", 3: "019", 4: "022", 5: "018", 6: "023", 7: "024", 8: "029",
    9: "028", 10: "027", 11: "048", 12: "043", 13: "03", 14: "045", 15: "025", 16: "076",
    17: "076", 18: "0776", 19: "055", 20: "026", 21: "058", 22: "054", 23: "052", 24: "059",
    25: "077", 26: "075", 27: "06", 28: "078", 29: "0742", 30: "073", 31: "0857", 32: "0852",
    33: "086", 34: "082", 35: "083", 36: "088", 37: "087", 38: "089", 39: "088", 40: "092",
    41: "0952", 42: "095", 43: "096", 44: "097", 45: "0985", 46: "099", 47: "098",
}  # fmt: skip
MOBILE_PREFIXES = ("090", "080", "070")

# --- Roles in a company -----------------------------------------------------------------------

# (title, weight). "" is staff without a title on the card.
TITLES: tuple[tuple[str, float], ...] = (
    ("代表取締役", 3),
    ("取締役", 3),
    ("執行役員", 2),
    ("部長", 12),
    ("次長", 5),
    ("課長", 15),
    ("係長", 8),
    ("主任", 12),
    ("担当", 18),
    ("", 22),
)
EXECUTIVE_TITLES = frozenset({"代表取締役", "取締役", "執行役員"})

DEPARTMENTS: tuple[tuple[str, float], ...] = (
    ("情報システム部", 18),
    ("マーケティング部", 15),
    ("営業部", 14),
    ("経営企画部", 10),
    ("DX推進室", 7),
    ("総務部", 7),
    ("人事部", 6),
    ("営業企画部", 6),
    ("経理部", 4),
    ("開発部", 4),
    ("広報部", 3),
    ("購買部", 3),
    ("カスタマーサクセス部", 3),
)
MANUFACTURING_DEPARTMENTS: tuple[tuple[str, float], ...] = (
    ("製造部", 10),
    ("生産管理部", 6),
    ("品質保証部", 5),
)
EXECUTIVE_DEPARTMENTS = ("", "", "", "経営企画本部", "営業本部", "管理本部")

# --- The demo vendor (a B2B SaaS selling a marketing-automation tool) --------------------------

SITE = "https://www.demo-ma.example"

WHITEPAPERS = (
    "BtoBマーケティング入門ガイド",
    "リードナーチャリング実践ハンドブック",
    "MA導入チェックリスト",
    "営業DX成功事例集",
    "ステップメール設計テンプレート",
    "展示会後フォローの教科書",
    "ウェビナー集客ノウハウ集",
    "リードスコアリング設計ガイド",
    "インサイドセールス立ち上げマニュアル",
    "マーケティングKPIダッシュボード設計書",
)

# (path, title) of the vendor's pages, by kind.
BLOG_PAGES = (
    ("/blog/lead-generation-basics/", "リードジェネレーションとは？手法と成功のポイント"),
    ("/blog/lead-nurturing/", "リードナーチャリングの進め方と効果測定"),
    ("/blog/step-mail-b2b/", "BtoBのステップメール設計：開封率を上げる5つのコツ"),
    ("/blog/scoring-model/", "リードスコアリングの作り方"),
    ("/blog/tradeshow-followup/", "展示会後のフォローで商談化率を上げる方法"),
    ("/blog/webinar-marketing/", "ウェビナーマーケティング完全ガイド"),
    ("/blog/cpl-roi/", "CPLとROIで見るチャネル別の費用対効果"),
    ("/blog/mql-sql/", "MQLとSQLの違いと定義の決め方"),
)
PRODUCT_PAGES = (
    ("/product/", "製品概要"),
    ("/product/scoring/", "機能：リードスコアリング"),
    ("/product/step-mail/", "機能：ステップメール"),
    ("/product/forms/", "機能：フォーム・LP作成"),
    ("/product/sales-alert/", "機能：営業アラート"),
    ("/pricing/", "料金プラン"),
)
CASE_PAGES = (
    ("/case-studies/", "導入事例一覧"),
    ("/case-studies/manufacturing/", "導入事例：製造業 商談数1.8倍"),
    ("/case-studies/it-services/", "導入事例：ITサービス リード獲得単価30%削減"),
    ("/case-studies/trading/", "導入事例：商社 展示会リードの商談化率2倍"),
)
LANDING_PAGES = (
    ("/lp/ma-whitepaper/", "【無料】MA導入チェックリストをダウンロード"),
    ("/lp/free-demo/", "無料デモのお申し込み"),
    ("/lp/lead-nurturing/", "リードナーチャリング実践ハンドブック"),
)
CONTACT_PAGE = ("/contact/", "お問い合わせ")
DEMO_PAGE = ("/demo/", "デモのお申し込み")
WEBINAR_PAGE = ("/webinar/", "ウェビナー・セミナー一覧")

WEBINAR_TOPICS = (
    "MAで営業を効率化するリードナーチャリング入門",
    "展示会リードを商談につなげるフォロー術",
    "成果が出るステップメールの作り方",
    "インサイドセールス立ち上げの実践",
    "スコアリングとMQL定義の決め方",
    "マーケティングKPIの見える化",
)
TRADE_SHOW_NAMES = ("DX・業務改革EXPO 東京", "営業・マーケティング支援展 大阪")

INQUIRY_SUBJECTS = ("料金について", "導入のご相談", "既存ツールからの移行について", "機能について")
PRODUCTS = (
    ("スタンダードプラン（年間）", 1_200_000),
    ("プロフェッショナルプラン（年間）", 2_400_000),
    ("エンタープライズプラン（年間）", 4_800_000),
    ("導入支援パッケージ", 600_000),
)

# --- The demo team (marketing and sales users) -----------------------------------------------

# (username, family name, given name, role)
DEMO_USERS = (
    ("misaki.sato", "佐藤", "美咲", "marketer"),
    ("kenta.tanaka", "田中", "健太", "sales_rep"),
    ("yumi.suzuki", "鈴木", "由美", "sales_rep"),
    ("shota.takahashi", "高橋", "翔太", "sales_rep"),
)
