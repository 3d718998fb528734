@echo off
rem canary-cmd
set DB_PASSWORD=zQ100a
sqlcmd -S db01 -U sa -P zQ101a -Q "select 1"
mysql -u root -pzQ102a w6
psexec \\app01 -u CORP\svc -p zQ103a cmd
net use Z: \\fs01\clk zQ104a /user:CORP\svc
net user clkadmin zQ105a /add
w6admin.exe --password zQ106a --verbose
w6admin.exe --password=zQ107a
cmdkey /add:fs01 /user:svc /pass:zQ108a
curl -u admin:zQ109a https://erp/api
plink -ssh admin@app01 -pw zQ110a
sc config W6Server obj= CORP\svc password= zQ111a
schtasks /create /tn clk /ru CORP\svc /rp zQ112a
