"""Urgent situations, recognised before any FAQ matching: the migrant gets the right help node and a
person at once.

Patterns are written over the matching skeleton (`bot.core.normalize.skeleton`), so one pattern covers
Russian in Cyrillic and in Latin letters, Uzbek in both scripts and Tajik and Kyrgyz with or without
their own letters. Skeleton letters: a-z without h, q, w, y (they become x, k, š, i), plus č (ч) and
š (ш); ж is j, х/ҳ is x, ц is c, я is ia, ю is iu, й and ы are i, doubled letters are single.

A rule is a list of groups that must all match somewhere in the text (each group an alternation), and
optionally `unless`: a pattern that cancels the rule (a question about paying the patent is not about
unpaid wages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# category -> (node to enter, node that hands over after it, or None when the node itself does)
TARGETS: dict[str, tuple[str, ...]] = {
    "suicide": ("urgent.crisis",),  # a crisis line and 112, then a person
    "medical": ("urgent.medical",),  # 103/112 and free emergency care, then a person
    "violence": ("urgent.violence",),
    "detained": ("urgent.detained",),
    "passport": ("urgent.passport",),  # an employer holding the passport; trafficking signs
    "trafficking": ("urgent.passport",),
    "expulsion": ("urgent.expulsion",),
    "legal": ("main.mediator",),  # an expired or annulled residence permit: a person, not the bot
    "wages": ("urgent.wages",),
}

# -- concepts: stems in skeleton form, per language, combined below as (situation AND cue) -----------------
# A concept is an alternation of stems; `\b` marks a stem that must start a word. Several concepts in one
# rule must all be present, so "blood" alone (a blood test for the patent) is not urgent, but "blood" with
# "won't stop" is.

_BLEED = (r"krov|krovotečen|\bkon\b|\bkoni\b|\bkon (ket|ok|kel|tox|tux|čik)|\bkonim|\bxun\b|\bxuni\b|\bxunam|"
          r"xunrav|xunrez|\bkan\b|\bkani\b|\bkan (ag|kel|tok|ket|čik)|\bkanim|kanap")
_NO_STOP = (r"ne (ostanav|prekraš|perest|unima|sverti|ostano)|ostanovit\w* ne|ne mo\w* ostano|ne prekrat|"
            r"silno|sil\w* krov|mnogo krov|\bvse vremia|čas(a)? (ne|uje)|"
            r"toxtamai|toxtamad|toxtama|tuxtamai|toxtatolmai|toxtatib bolmai|toxtatoma|jud\w* kop|"
            r"bas name|bas naša|ist name|ist naša|kat name|kat naša|nameist|biser|"
            r"toktobo|toktoboi|toktotu\w* albai|toktoto alba|abdan kop|katuu agip|kop agip")
_CHEST = (r"\bgrud|serdc|serdec|\bkokrag|\bkokrak|\biurag|\biurak|\bsina\b|\bsinaam|\bsinai|\bsinaa|\bdilam|"
          r"\bdil\b|kokurog|kokurok|\bjurog|\bjurok")
_PAIN = (r"ploxo|\bbol(it|iat|el|ela|eli|i|iu|ei|ia|no|ezn)?\b|\bbolit|davit|davl|jmet|jjet|koli|koloc|jgu|jjot|"
         r"ogri|ogrik|sanč|dard|\boru|\borui|\borup|kisip|kisat|sairap|sizdap|uvuš|uvuš|kuiish")
_BREATH = (r"ne mo\w* dišat|ne dišit|ne dišet|ne dišu|dišat ne mo|tiajel\w* diš|trudno diš|zadix|ne xvata\w* vozdux|"
           r"xripit|xrip|posinel|sini\w* gub|gub\w* sini|dišit s trud|"
           r"nafas ol\w*ma|nafas ol\w* olma|nafasi kis|nafas kis|nafasi tikil|nafas\w* bogil|bogilib|bogilia|"
           r"nafas\w* gir\w* nametav|nafas\w* namerasa|nafas\w* name|nafas\w* bast|nafastang|nafasaš tang|"
           r"dem al\w* alba|dem albai|demi kisil|dem\w* kisil|dem\w* jet\w*pe|bulugup|tunčug|tumčug")
_UNCONSCIOUS = (r"bez soznan|udaril\w* golov|golov\w* udaril|ne otveča\w* i ne|ne reagir|lej\w* i ne (vsta|dvig|"
                r"ševel|otveč)|ne dvigaet|ne ševeli|poterial\w* soznan|"
                r"poteria soznan|obmorok|ne prixod\w* v seb|ne očnu|ne prosipa|"
                r"glaza ne otkr|ne otkriva\w* glaz|"
                r"xušidan ket|xušini ekot|xušsiz|xušiga kelma|ozidan ket|koz\w* očma|bexuš|xuš(aš)? (raf|nest)|"
                r"xušaš namea|čašm\w* (nameku|nakuš)|"
                r"esin jogot|esinen tan|es\w* učup|es učun|esi jok|esine kelbe|koz\w* ačpa|koz\w* ačba")
_STROKE = (r"insult|inskult|paraliz|otniala|onemel|perekosi|krivo lic|lico perekos|reč\w* (propal|narušen)|"
           r"ne mo\w* govorit|govorit ne mo|"
           r"falaj|gapira olma|gapirolma|tili tutil|iuzi kiiš|kiišaib|"
           r"gap zada nametav|zabon\w* (gir|band)|"
           r"sujlo albai|suiloi albai|kiišai|kiimilda\w* alba|kiimil\w* jok|til\w* kalb")
_INJURY = (r"ezib iubor|ezib tašla|bosib kol|az baland\w* aft|afto\w* az (bom|balandi)|biik\w* kulap|travm|"
           r"perelom|otrezal|otorval|otrubil|razdavil|pridavil|razmoz|kost\w* torč|otkrit\w* perelom|"
           r"upal\w* s (vis|les|kriš|etaj|kran)|upal\w* s \w* etaj|prišib|pilo\w* (ruk|palc)|ampu|"
           r"jaroxatla|kesib tuš|barmog\w* (kesil|uzil|ezil)|"
           r"kulap tuš|kulap ket|talkala|"
           r"iikilib tuš|balanddan iikil|lesadan (iikil|kulap|af)|leso\w* af|afto\w* az bal")
# a weaker word (broken, cut, wound) is an injury only with a body part, blood or a hospital near it
_HURT = r"slomal|šikast|majrux|zaxm|jarox|jarak|singan|sinib|\bsindi|kesil|kesip|kirkil|kistir|kisil|bur(id|ida)\b|ezil"
_BODY = (r"\bruk|\bnog|palc|golov|spin|kost|\bkol\b|\bkolim|\bkoli\b|\bkolu\b|\boeg|\boek|barmog|barmag|barmak|\bboš|"
         r"\bbaš|\bsar\b|\bsaraš|\bsaram|\bdast|\bpoi\b|\bpoiam|\bpoiaš|angušt|\bbut\b|\bbutu|\bbutum|sook|sujak|"
         r"iliq|ustuxon|" + _BLEED + r"|skor|bolnic|kasalxon|bemorxon|oruukan|tez erdam|tez jardam|taččili")
# a past injury asked about as a right (who pays, insurance, compensation) is a labour question, unless it
# still bleeds or an ambulance is in question
_LATER = (r"^(?!.*(krov|\bkon\b|\bxun\b|\bkan\b|skor|tez erdam|tez jardam|taččili|diš|soznan|xuš|\besi)).*"
          r"(kto (za)?plat|kto opla|kim tol|kim tolai|kim tolo|strax|sugurt|kompens|vozmest|bolnič\w* list|posobi|"
          r"ki mepardoz|ki pardoxt|aibdor|vinovat|gunaxkor|\bvina\b|juridik|isbotla|dalil)")
_BURN = (r"ojog|obojg|obvar|kipiatk|kipiatok|kislot|"
         r"kuidi|kuiib|kuigan|kuidir|issik suv|kainok|kainagan|"
         r"suxt|sux(i|ia)|obi još|"
         r"kuiup|kuiuk|kuidu|isik mai|isik suu|kainak")
_CHILD = (r"rebenok|rebenk|rebena|\bdet(i|ei|iam)\b|\bdoč|\bsin\b|\bsina\b|\bsinu|sinok|malč|devočk|mališ|"
          r"mladen|grudnič|"
          r"\bbola(\b|m\b|mni|mga|mning|miz|si\b|sini|ga\b|ni\b|ning|lar|jon)|farzand|\bkizim|\boglim|čakalok|"
          r"kudak|\bbača|duxtar|pisar|"
          r"\bbala(\b|m|si|ga|nin|dar|lar|ni\b)|\buulum|nareste|bobok")
_HIGH_FEVER = (r"\b(39|40|41)\b|vis\w* temperat|temperat\w* (ne sbiva|ne pada|ne snija|vis)|ne sbiva|jar\b|jar ne|"
               r"sudorog|triaset|trias|konvulc|sudoroj|"
               r"isitma\w* (tušma|tušmai|baland|kotti)|isitma\w* 3|titra|tutkanok|talvasa|kaltira|"
               r"tab\w* (past nameš|baland|namefar|naxoba)|xarorat\w* (baland|past nameš)|larz|ragkaš|"
               r"temperatura\w* (tušpo|tušpoi|tušbo|baland|jogor)|isitma\w* tušpo|\btirišip|\btiriš|\btalma|kalčil")
_PREGNANT = (r"beremen|srok \d+ (mesiac|ned)|na \d+ (m|mesiac|ned)\w* beremen|xomilador|xomila|xomildor|kosiat|"
             r"koš boil|boiunda|boiu bar|boilu\b")
_PREG_ALARM = (_BLEED + r"|" + _PAIN + r"|vod\w* otoš|otoš\w* vod|sxvatk|skvatk|rojaiu|rojaet|rojat nača|"
               r"tolgok|tolgog|tolgat|dard|mazasi ek|xolsiz")
_MED_ALWAYS = (r"naglotal|vipil\w* (uksus|xlor|xim|otrav)|zaxlebn|utonul|utop|infarkt|insult|inskult|umira|"
               r"otravil|otravlen|anafilak|skor\w* ne (ed|priex|prie)|"
               r"ne vizivaiut skor|ne vizivat skor|ne dai\w* vizvat skor|"
               r"tez erdam (kelma|čakir\w* (bermai|bermad|kerakmas))|tez jardam (kelbe|čakirt\w*pa)|"
               r"eri taččili (nameoiad|naomad)")
# -- a person in crisis: direct words and the indirect ones people use
_CRISIS = (r"pokonč\w* s sob|pokonč\w* so vs|pokonč\w* s etim|zakonč\w* vse eto|pokonč\w* s jizn|suicid|samoubi|"
           r"ubi(t|iu) seb|ubiu seb|ne xoču (bolše )?jit|"
           r"ne xočet\w* jit|jit ne xoč|ne xočet\w* (bolše )?jit|ustal\w* jit|nadoel\w* jit|ne vijiv|xoču umeret|"
           r"xočet\w* umeret|lučše umeret|lučše (bi )?umer|zaxotel\w* umeret|net smisla jit|smisla jit\w* net|"
           r"ne vij\w* smisl\w* jit|zakonč\w* vse|konč\w* s soboi|seb\w* ubi|povesit|povešu|prignu s|sprign|"
           r"brošus (pod|s)|brositsia (pod|s)|vskri\w* ven|pererez\w* ven|reju seb|porezat seb|"
           r"(poreza|reza|reju)\w* seb\w* (ruk|ven)|"
           r"pričin\w* sebe bol|naloj\w* na seb ruki|ne xoču prosipat|lučše bi (menia )?(\w+ )?ne bilo|"
           r"lučše bi (mne )?(\w+ )?umer|"
           r"ozimni oldir|jonimga kasd|joniga kasd|ozimga kasd|iašagim kelma|iašašni xoxlama|iašašdan čarča|"
           r"iašaš\w* manosi ek|xaetdan toi|xaetdan čarča|ozimni ozim|olim\w* iakši|tomirimni kes|"
           r"xudkuš|xudamro (mekuš|kušt|ba kušt|bikuš|kuš)|xudro (bi)?kuš|zindagi (kardan )?namexox|"
           r"zinda (budan )?namexox|"
           r"namexox\w* (ki )?zinda|zinda boš\w* namexox|"
           r"namexox\w* zindagi|az zindagi (xasta|ser|bezor)|murdan mexox|mexoxam bimir|bimiram|"
           r"manoi zindagi nest|raga\w* bur|"
           r"ozumdu oltur|ozum\w* oltur|jašagim kelbe|jašagim kelbei|jašoo\w* kelbe|olgum kel|"
           r"jašoonun mani\w* jok|jašonun mani\w* jok|turmuštan tajad|jašoodon tajad|jašodon tajad|"
           r"oz janim\w* kol sal|ozum\w* kol sal|janim\w* kol sal|tamirimdi kes")
# cries that may be a crisis, only together with despair: "I can't any more, I think of ending it"
_DESPAIR = (r"ustal\w* ot vsego|ne mogu (bolše|tak)|uje ne mogu|bolše ne mogu|sil (bolše )?net|ne vider|toska|"
            r"vse ploxo|bezisxod|tupik|"
            r"čidayolma|takatim kolma|boš(im)? berk|xamma narsa emon|"
            r"tokat nador|toqat nador|digar nametav|xama čiz bad|"
            r"čidai alba|čidabai|bardigi jaman|kaigi")
_END_IT = (r"dumaiu (o tom )?(čto|kak|ob etom)|mi?sli\w* (o smert|pokonč|umeret|ujti)|ujti iz jizn|ne prosnut|isčeznut|"
           r"umeret|smert|olim|oliš|oldir|oliim|murdan|marg|bimir|kušt|olum|olgu|olup kal|jok bolgum|ek bolgim|"
           r"jok bolup ket|nest šav|gum šav")

# at the border or an airport: stopped, turned back, told of an entry ban
_BORDER = (r"aeroport|granic|pogran|tamoj|\bkpp\b|čegara|sarxad|furudgox|ček ara|čekara|vnukov|šeremet|domodedov|"
           r"pulkov|\bjukovsk")
_BORDER_TROUBLE = (r"ne (pusk|propusk|vpusk|vipusk|dal\w* (proi|vi|vo))|razvern|zapret|zaderj|deport|snial\w* s reis|"
                   r"otkaz\w* v\w* v?ezd|otpravl\w* obratno|vernul\w* obratno|deržat|derjat|dopros|"
                   r"kiritma|kiritiš\w*ma|kaitarib iubor|kaitariš\w*di|ušla|takik|man etil|"
                   r"namemon|nameguzor|naguzošt|bozgardon|bozdošt|nigox doš|nigox dor|\bman (kard|šud)|mamnu|"
                   r"kirgizbe|kirgizišpe|toktot|karma|tiiu|kiruugo|kirugo|kaitarip jiber|tosup")
# a court, and no interpreter: the person cannot defend themselves
_COURT = r"\bsud\b|\bsuda\b|\bsude\b|\bsudu|\bsudd|\bsudga|\bsot\b|\bsotda|\bsotko|\bsotto|maxkama|\bsuds"
_INTERPRETER = r"perevodč|tarjimon|tarčimon|tarčumon|kotormoč|\bperevod\w* ne"
_POLICE = r"otdeleni|\bv otdele\b(?! (migr|kadr|uvm|po vopros))|specpri|\bcvsig|otdel polic|" \
    r"polic|milic|ment(i|ov|ovk|am|a\b)|\bovd\b|učastk|obezian|\bpolis\b|politsi|milis|\bmvd\b"
_DOCS = r"pasport|dokument|šinosnom|xučat|xujat|\bxujjat|\bdoc"

_RULES: list[tuple[str, list[str], str | None]] = [
    # -- suicide risk
    ("suicide", [r"pokonč\w* s sob|suicid|samoubi|ubi(t|iu) seb|ne xoču jit|jit ne xoč|povesit|"
                 r"ozimni oldir|joniga kasd|iašagim kelmai|xudkuš|xudamro mekuš|ozumdu oltur|"
                 r"jašagim kelbe|ozumo oltur|ozumdu olt"], None),
    ("suicide", [_CRISIS], None),
    ("suicide", [_DESPAIR, _END_IT], None),
    # -- medical emergency told by its symptoms
    ("medical", [_MED_ALWAYS], None),
    ("medical", [_BLEED, _NO_STOP], None),
    ("medical", [_CHEST, _PAIN], r"grudn\w* (molok|vskarml|kormi)|kormlen"),
    ("medical", [_BREATH], None),
    ("medical", [_UNCONSCIOUS], None),
    ("medical", [_STROKE], None),
    ("medical", [_INJURY], _LATER),
    ("medical", [_HURT, _BODY], _LATER + r"|telefon|ekran|kart|patent|dokument|xujat|xučat|šinosnom|pasport"),
    ("medical", [_BURN, r"ruk|nog|lic|\bkol|\boek|iuz|bet|badan|teri|dast|\bpoi\b|rui|kaf|\bbut|sil|kip|kain|"
                        r"issik|isik|garm|\bot\b|\bolov|otaš|mai|iag|rebenk|rebenok|\bbola|kudak|bača|\bbala|"
                        r"skor|tez erdam|tez jardam|taččili|bolnic|kasalxon|bemorxon|oruukan|pomog|jardam|erdam|"
                        r"kumak"],
     r"kuidi pul|pul kuidi|tolov|patent|akča kuidu|pul\w* kui|suxtani|\bsuxt\b|suxtgiri|ekilg|benzin"),
    ("medical", [_HIGH_FEVER, _CHILD], r"\b(39|40|41)\b (den|kun|rub|so|sum|ming|min|tis|ta\b|dnei|ruble)"),
    ("medical", [_PREGNANT, _BLEED], r"analiz|sda(t|ču)|topšir"),
    ("medical", [_PREGNANT, r"sxvatk|skvatk|vod\w* otoš|otoš\w* vod|rojaiu|rojaet|tolgok|tolgog|tolgat"], None),
    ("medical", [_PREGNANT, _PREG_ALARM], r"platn|bespl|stoit|skolko|kanča|kančalik|čand|narx|bao|polis|dms|oms|"
                                          r"učet|učet|\bvstat|uchet|konsult|roddom\w* (kak|kakoi)|postanovk"),
    # -- medical emergency
    ("medical", [r"ne diš|bez soznan|poterial\w* soznan|krovotečen|infarkt|insult|pristup|umira|"
                 r"otravil|upal s (vis|les|kriš|etaj)|perelom|"
                 r"xušidan ket|nafas olol|kon ketiap|iikilib|singan|"
                 r"bexuš|xun meravad|nafas gir\w* nametav|"
                 r"es učun|dem al\w* albai|kan agip|jigilip|sinip kal"], _LATER),
    # -- violence
    ("violence", [r"\bizbi|\bbet (menia|nas|ego|ee|jen|detei|rebenk)|(menia|nas|muj|jena)\w* bet\b|\bbiut\b|"
                  r"udaril(?!s)|iznasil|nasili|domogaet|ugroj|"
                  r"\burdi\b|\buradi\b|\burib\b|\buriš|kaltakla|zoravon|zorla|zorlik|doposla|korkit|"
                  r"maro zad|zurovar|\bzad\b|\bmezan(ad|and)\b|\bzadand\b|lat kard|zorovari|tačovuz|taxdid|"
                  r"sabadi|sabašti|\bsabap\b|\burdu\b|\burat\b|\buruš|\burup\b|zombuluk|zordu|korkut|zorlo"],
     r"zang zad|zang mez|urok|ta.xdid\w* kil"),
    # -- passport kept by an employer (a sign of forced labour and trafficking)
    ("passport", [_DOCS, r"zabral|otobral|derj|ne otda|ne vozvraš|ne vernu|u sebia|vernut|\bvzial|"
                  r"olib koi|olib kol|olib kolg|olišga|bermai|kaitarmai|kaitarib ol|ušlab tur|iigib ol|"
                  r"girift|namedix|nigox|bargardon|\bdar xud|"
                  r"alip al|berbe|karmap tur|karmaganga|kaitarbai|kaitarip al|jiinap al"],
     _POLICE + r"|\brusia|rossi|grajdanstv|fukarolig|šaxrvandi|jarandig|"
     r"\bnav\b|\bnavi\b|\bnavro|\bnovi|\biangi|\bjani\b|poter|"
     r"ekot|gum kard|gum šud|jogot|dublikat|vosstanov|kak polučit|oformit|"
     r"dlia patent|učun kerak|lozim|kerekp|kerakmi|\bsdat|topšir|perevod|notarius|kopi|"
     r"(dokument|xujat|xučat|pasport)\w* (učun|iz za|baroi|sababl)"),
    # -- detention by the police
    ("detained", [_POLICE, r"zaderj(a|i)|zabra|uvez|povez|poviaz|zagreb|siju|sidim|derjat|podpis|imzo|kol koi|"
                  r"vziali|arest|"
                  r"ušla|olib ket|olib bor|kamab|kamaš|otirib|dastgir|bozdošt|\bmaro (burd|girift)|"
                  r"\b(burd|girift)and\b|\b(burd|girift)\w* burd|nigox doš|"
                  r"\bdošt(and|a\b|aand|\b)|"
                  r"nišast|karma|alip ket|kamap|otur|ostanovil"], r"zarplat|maoš|oilik|ailik|muzd|\bdms\b|"
                  r"\boms\b|strax|sugurt"),
    ("detained", [r"zaderjal|zaderjan|zaderjivaiu|ušlab (kol|ket|tur|ol)|ušlaš|bozdošt|dastgir|"
                  r"karmašt|karmadi|karmap ket|karmap al|karmaganga|\breid|zaderjat"],
     r"zarplat|maoš|oili[kg]|aili[kg]|muzd|pul|akča|den(gi|eg)|foiz|procent|nalog|solik|oplat|patent|tolov|"
     r"pardoxt|tolom|perevod|intikol|otkazma|tranzak|kart"),
    ("detained", [_BORDER, _BORDER_TROUBLE], r"kak proverit|tekšir|sanč|tekšer|zaranee|oldindan|pered poezd"),
    ("detained", [_COURT, _INTERPRETER], None),
    ("detained", [r"specpri|\bcvsig|specpriem|specialn\w* (centr|učrejden)\w* (dlia )?(vremen|inostr)"], None),
    # -- other signs of trafficking: locked in, not let go, forced to work
    ("trafficking", [r"ne vipuska|zaperl|vzaperti|prodal\w* (nas|menia)|zastavlia\w* rabot|"
                     r"čikarišmai|čikarmai|kamab koi|majburlab|berun namebar|mačbur|namemonand|"
                     r"čigarbai|majburla|kamap koi"], None),
    ("trafficking", [r"satip jiber|prodal\w* (nas|menia)"], r"kart|telefon|mašin|kvartir|avto"),
    # debt bondage: "you owe us, you won't leave until you work it off"
    ("trafficking", [r"\bdolg|\bdolj|\bdolž|\bkarz|\bkariz|\bkarz", r"ne otpust|ne vipust|ne otpuska|ne puska|otrabot|"
                     r"uiti nel|koib iuborma|kuib iuborma|ketiš\w* mumkin emas|namemon|namegzor|ketpeis|ketirbe|"
                     r"jiberbe|kuiboi|ketkirbe|ketkiz"], r"kredit|bank|mikrozaim|patent|nalog|štraf|jarima"),
    ("trafficking", [r"uiti nel|ne dai\w* uiti|ne otpuska\w* (domoi|s obekt|s rabot|s fer|s terr)|"
                     r"ketiš\w* (mumkin emas|kuimai)|ketišga kuima|raftan namemon|ketkiribe|ketirbei"], None),
    # -- expulsion, deportation order, entered in the register of controlled persons, blocked cards,
    #    entry ban. Questions about what the register is are answered by registration.controlled_register.
    ("expulsion", [r"vidvor|ixroč|(?<!jokko )čigar(uu|ip jiber)|(?<!xatdan )(?<!raciadan )čikarib iubor|"
                   r"(vnes|vnos|popal|kiritiš|kiritiliš|kirgiziš|kirgizil|doxil kard|vkliuč)\w* .{0,30}"
                   r"(reestr|reiestr|fexrist)|(reestr|reiestr|fexrist)\w* .{0,30}"
                   r"(vnes|vnos|popal|kiritiš|kiritiliš|kirgiziš|kirgizil|doxil kard|vkliuč)|"
                   r"zablokir\w* .{0,20}kart|k[ao]rt\w* .{0,20}(zablokir|blok|bast|bogot)|"
                   r"kiriš takik|mani vurud|kiruugo tiiu|"
                   r"deport\w* .{0,25}(rešeni|\bsud|\bsot\b|postanov|prišl|prišel|vinesl|karor|karar|čečim|keldi|omad)|"
                   r"(rešeni|\bsud\b|\bsot\b|postanov|karor|čečim)\w* .{0,25}deport|"
                   r"deport\w* .{0,25}(bumag|kogoz|kagaz|kogaz|postanovl|uvedoml)|"
                   r"(bumag|kogoz|kagaz|kogaz|postanovl|uvedoml)\w* .{0,25}deport"], None),
    ("expulsion", [r"zapret\w* (na )?v[e]?ezd"], r"(proverit|tekšir|sanč|tekšer|uzna)\w* .{0,30}zapret|zaranee"),
    # -- a residence permit that has run out or been annulled: an overstay, which a person handles (how to
    #    get one is answered by life.residence_permit)
    ("legal", [r"\brvp\b|\bvnj\b|vid na jitel|razrešeni\w* na vremen|vremenn\w* projiv",
               r"prosroč|\bistek|istekl|zakončil|zakonči\w* srok|annulir|aniulir|otmenil|tugad|tugag|bekor kil|"
               r"guzašt|tamom šud|bekor šud|botal|mooonot\w* (bütt|butt)|mönöt\w* (bütt|butt)|jokko čigar"], None),
    # -- wages not paid
    ("wages", [r"zarplat|zarabotn|\bzp\b|polučk|\bden(gi|eg)|\bpul|maoš|oilik|iš xak|aili[kg]|\bakim|"
               r"emgek ak|muzd|\bakča|ne plat(it|iat)\b|za rabotu ne|zaplat\w* za rabot"],
     r"patent|dms|polis|registr|štraf|pošlin|nalog|ndfl|jarima|jarim|aiip|boj|viz|skor|tez erdam|tez jardam|"
     r"erii tačili|vrač|bolnic|doktor|lečen|davol|dari"),
]
_WAGE_PROBLEM_SOURCE = (
    r"ne (pla|vipla|zapla|otda|da|polu)|nevipla|kinul|zaderjiva|zaderjk|ne vidai|obmanul|"
    r"bermai|bermad|beriš\w* (mad|mai)|berišma|berišpe|berišmad|berilma|tolamai|tolamad|bermasd|aldad|aldaš|kečik|"
    r"namedix|nadod|nadix|fireb|\bder med|"
    r"berbe|tolobo|tološpo|tologon jok|beriš\w* jok|ber\w*gen jok|berilbe|kečig|(ailik|akča)\w* (da |dagi )?jok\b|"
    r"aldap|aldašt|kačip")


# Not sure it is urgent: a cry for help about a situation of the kinds above, no rule certain. The migrant
# is asked one question ("do you need a person now?") instead of being shown a list of topics.
_CRY = (r"spasit|\bsos\b|\bsroč\w* pomo|pomog\w* sroč|pomoš\w* sroč|sroč\w* pomoš|karaul|\bbeda\b|"
        r"kutkar|erdam bering (tez|sroč|iltimos tez)|tezda erdam|"
        r"nijot dixed|madad kuned|zud kumak|kumak kuned zud|"
        r"jardam bergile (tez|sroč)|tez jardam bergile|jardam beriniz tez|kutkargil")
_TROUBLE = (r"polic|milic|politsi|\bmvd\b|\bomon|\bsud\b|\bsot\b|deport|vidvor|ixroč|xoziain|xojain|xočain|kožoiun|"
            r"kojoiun|rabotodat|ish beruvči|korfarmo|iš beruuču|brigadir|bolnic|kasalxon|bemorxon|oruukan|skor|"
            r"tez erdam|tez jardam|taččili|zaper|kamab|kamap|bozdošt|ušla|karma|zaderj|\bbrat|\bmuj|\bjena|"
            r"\baka(m|si)\b|\bukam|\bbarodar|\bšavxar|\bzan(am|aš)\b|\bagam|\bini(m|si)\b|kuioo|erim|xotinim|"
            r"pasport|dokument|šinosnom|xujat|xučat")


@dataclass(frozen=True)
class Urgent:
    category: str
    nodes: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern[str]:
    """Patterns are written with ordinary spelling; the skeleton writes a doubled letter once. The new
    Uzbek Latin ş and ç lose their cedilla in the skeleton, so š and č also match s and c."""
    pattern = re.sub(r"(?<!\\)([a-zčš])\1+", r"\1", pattern)  # not the b of \b
    return re.compile(pattern.replace("š", "(?:š|s)").replace("č", "(?:č|c)"))


_COMPILED = [(cat, [_compile(g) for g in groups], _compile(unless) if unless else None)
             for cat, groups, unless in _RULES]
_WAGE_PROBLEM = _compile(_WAGE_PROBLEM_SOURCE)


def urgent(skel: str) -> Urgent | None:
    """The urgent situation a message (in skeleton form) describes, if any."""
    for category, groups, unless in _COMPILED:
        if all(g.search(skel) for g in groups) and not (unless and unless.search(skel)):
            if category == "wages" and not _WAGE_PROBLEM.search(skel):
                continue
            if category == "detained" and _IF_RE.search(skel) and not _HELD_NOW_RE.search(skel):
                continue  # "what happens if the police stop me": a question about the rules, not a detention
            return Urgent(category, TARGETS[category])
    return None


_CRY_RE = _compile(_CRY)
# a detention asked about as a possibility ("если задержат", "ushlasa", "агар гиранд", "эгер кармаса")...
_IF_RE = _compile(r"\besli\b|\bagar\b|\beger\b|\bušla(s|b kol|b ol)\w*sa\b|\bušlasa|\bkarma(sa|p kalsa)\b|"
                  r"\bgirand\b|\bmegirand\b|dastgir kunand|\bmogut li\b")
# ...unless it is happening: someone is held now or was taken
_HELD_NOW_RE = _compile(r"zaderjal|zabral|uvezl|sižu|sidim|derjat|v otdelen|ušlab (oldi|ket|koldi|turibdi)|"
                        r"ušladi|ušlašdi|dastgir kard|bozdošt kard|giriftand|burdand|karmašti|karmap (aldi|ket)|"
                        r"karmadi|otirib|kamab koi|kamašdi|kamap koi|kamalip|xozir|seičas|\bhozir|\bazir\b")
_TROUBLE_RE = _compile(_TROUBLE)


def maybe_urgent(skel: str) -> bool:
    """A cry for help about a situation that may be urgent (asked when `urgent` found nothing sure)."""
    return bool(_CRY_RE.search(skel) and _TROUBLE_RE.search(skel))
